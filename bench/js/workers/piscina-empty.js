// Piscina's baseline task: does nothing, returns nothing.
export default function emptyTask() {
  return undefined;
}
