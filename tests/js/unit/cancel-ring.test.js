// The cancel ring alone (glue/shared/cancel-ring.cjs): main's writer and the host's reader on one
// SharedArrayBuffer, in one thread. What the file's header promises: ids are seen once,
// the ring wraps (its entries and its 32-bit count), and a reader that fell behind by more
// than the capacity loses the oldest ids and only those.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { CAPACITY, CancelRingReader, CancelRingWriter, createCancelRing } from '../../../glue/shared/cancel-ring.cjs';

function ring(capacity) {
  const buffer = createCancelRing(capacity);
  return { buffer, writer: new CancelRingWriter(buffer), reader: new CancelRingReader(buffer) };
}

test('a cancelled id is seen once; an id never cancelled is not', () => {
  const { writer, reader } = ring();
  assert.equal(reader.wasCancelled(1), false, 'nothing written yet');
  writer.cancel(3);
  writer.cancel(5);
  assert.equal(reader.wasCancelled(4), false);
  assert.equal(reader.wasCancelled(5), true);
  assert.equal(reader.wasCancelled(3), true, 'kept while 5 was asked about');
  assert.equal(reader.wasCancelled(3), false, 'seen once');
  assert.equal(reader.wasCancelled(5), false, 'seen once');
});

test('the default capacity is a power of two; others are refused', () => {
  assert.equal(CAPACITY & (CAPACITY - 1), 0);
  assert.equal(createCancelRing().byteLength, 4 * (1 + CAPACITY));
  for (const bad of [0, 3, 100, -4, 1.5]) assert.throws(() => createCancelRing(bad), RangeError, String(bad));
});

test('wrap-around: a reader that keeps up sees every id, round after round of a small ring', () => {
  const { writer, reader } = ring(4);
  let id = 1;
  for (let round = 0; round < 10; round++) {
    const batch = [id++, id++, id++]; // three per read: the entries used move round the ring
    for (const each of batch) writer.cancel(each);
    for (const each of batch) assert.equal(reader.wasCancelled(each), true, `id ${each} in round ${round}`);
  }
  // Exactly a full ring between two reads is still whole.
  const full = [101, 102, 103, 104];
  for (const each of full) writer.cancel(each);
  for (const each of full) assert.equal(reader.wasCancelled(each), true, `id ${each}`);
});

test('a reader that fell behind by more than the capacity loses the oldest ids, keeps the newest CAPACITY', () => {
  const { writer, reader } = ring(4);
  writer.cancel(1);
  assert.equal(reader.wasCancelled(1), true);
  for (let id = 10; id < 20; id++) writer.cancel(id); // 10 written, 4 kept
  assert.equal(reader.wasCancelled(99), false);
  for (let id = 10; id < 16; id++) assert.equal(reader.wasCancelled(id), false, `id ${id} was overwritten`);
  for (let id = 16; id < 20; id++) assert.equal(reader.wasCancelled(id), true, `id ${id} is among the last 4`);
  // It is caught up again: the next id is seen, the lost ones stay lost.
  writer.cancel(20);
  assert.equal(reader.wasCancelled(20), true);
  assert.equal(reader.wasCancelled(10), false);
});

test('the count wraps past 2^32 - 1 without losing or repeating an id', () => {
  const buffer = createCancelRing(4);
  new Uint32Array(buffer)[0] = 2 ** 32 - 2; // as after four billion cancellations
  const writer = new CancelRingWriter(buffer);
  const reader = new CancelRingReader(buffer);
  for (const id of [7, 8, 9]) writer.cancel(id); // counts 2^32 - 2, 2^32 - 1, then 0
  assert.equal(new Uint32Array(buffer)[0], 1);
  for (const id of [7, 8, 9]) assert.equal(reader.wasCancelled(id), true, `id ${id}`);
  for (const id of [7, 8, 9]) assert.equal(reader.wasCancelled(id), false, `id ${id} seen once`);
  // Behind by more than the capacity across the wrap.
  for (let id = 30; id < 37; id++) writer.cancel(id);
  for (let id = 30; id < 33; id++) assert.equal(reader.wasCancelled(id), false, `id ${id} was overwritten`);
  for (let id = 33; id < 37; id++) assert.equal(reader.wasCancelled(id), true, `id ${id}`);
});

test('a reader made after ids were written starts from there, as the host does with a fresh ring', () => {
  const buffer = createCancelRing(4);
  const writer = new CancelRingWriter(buffer);
  writer.cancel(1);
  const reader = new CancelRingReader(buffer);
  assert.equal(reader.wasCancelled(1), false);
  writer.cancel(2);
  assert.equal(reader.wasCancelled(2), true);
});
