// Piscina's baseline task: does nothing, returns nothing. CommonJS, which Piscina loads
// with require(): an ES module goes through Node 20's require(esm), which once aborted the
// whole process in the startup section (an assertion in ModuleWrap's require facade, with
// two Piscina workers loading the task at once).
module.exports = function emptyTask() {
  return undefined;
};
