import { availableParallelism } from 'node:os';
import { Worker } from 'node:worker_threads';

/**
 * sha256 of large bodies on worker threads, off the main thread.
 *
 * Node's `Hash.update` runs on the thread that calls it. Validation re-reads
 * whole targets (a local one keeps no checksum to compare), and on the main
 * thread the sha256 of 2 GiB took ~2 s while the other core sat idle
 * (bench/README.md, 2026-12-07 night). Here the main thread only copies each
 * MiB into a message; a worker hashes it. A body smaller than one message
 * is hashed on the main thread: a round trip would cost more than it saves.
 */

/** Bytes per message to a worker (and the least a body must have to go). */
export const HASH_MESSAGE_BYTES = 1024 * 1024;
/** Bytes one body may have sent and not yet hashed before it waits. */
const IN_FLIGHT_BYTES = 2 * HASH_MESSAGE_BYTES;

// Plain JavaScript, run with `eval`: no separate file to build or bundle.
const WORKER_SOURCE = `
const { parentPort } = require('node:worker_threads');
const { createHash } = require('node:crypto');
const hashes = new Map();
parentPort.on('message', m => {
  try {
    if (m.type === 'data') {
      let hash = hashes.get(m.id);
      if (!hash) hashes.set(m.id, (hash = createHash('sha256')));
      hash.update(new Uint8Array(m.buffer, 0, m.length));
      // The buffer goes back to be filled again: no garbage on either side.
      parentPort.postMessage({ type: 'hashed', id: m.id, length: m.length, buffer: m.buffer }, [m.buffer]);
    } else if (m.type === 'end') {
      const hash = hashes.get(m.id) ?? createHash('sha256');
      hashes.delete(m.id);
      parentPort.postMessage({ type: 'digest', id: m.id, hex: hash.digest('hex') });
    } else if (m.type === 'drop') {
      hashes.delete(m.id);
    }
  } catch (e) {
    hashes.delete(m.id);
    parentPort.postMessage({ type: 'error', id: m.id, message: String((e && e.message) || e) });
  }
});
`;

/** Message buffers back from the threads, to be filled again. */
const spare: ArrayBuffer[] = [];
const SPARE_LIMIT = 16;

function recycle(buffer: ArrayBuffer | undefined) {
  if (buffer?.byteLength === HASH_MESSAGE_BYTES && spare.length < SPARE_LIMIT)
    spare.push(buffer);
}

/** A buffer of {@link HASH_MESSAGE_BYTES} to fill and hand over. */
export function messageBuffer(): Buffer {
  const buffer = spare.pop();
  return buffer
    ? Buffer.from(buffer, 0, HASH_MESSAGE_BYTES)
    : Buffer.allocUnsafeSlow(HASH_MESSAGE_BYTES);
}

type Reply =
  | { type: 'hashed'; id: number; length: number; buffer: ArrayBuffer }
  | { type: 'digest'; id: number; hex: string }
  | { type: 'error'; id: number; message: string };

interface Waiter {
  inFlight: number;
  /** Resolves a body waiting for room (its in-flight bytes went down). */
  room?: () => void;
  done?: { resolve(hex: string): void; reject(e: Error): void };
  failed?: Error;
}

/** The sha256 of one body, hashed by a worker thread. */
export class OffThreadSha256 {
  constructor(
    private readonly worker: Worker,
    private readonly id: number,
    private readonly body: Waiter,
    private readonly forget: () => void,
  ) {}

  /**
   * Sends `bytes` to be hashed; resolves once the bytes not yet hashed are
   * few enough to send more. `handOver`: the caller gives up `bytes` (a
   * whole ArrayBuffer of its own), which then moves to the thread without a
   * copy; otherwise a copy is sent and the caller may reuse its buffer.
   */
  async update(bytes: Uint8Array, handOver = false): Promise<void> {
    if (this.body.failed) throw this.body.failed;
    const whole =
      handOver &&
      bytes.byteOffset === 0 &&
      bytes.byteLength === bytes.buffer.byteLength &&
      // (not `instanceof`: a buffer from another realm is one too)
      Object.prototype.toString.call(bytes.buffer) === '[object ArrayBuffer]';
    // Its own ArrayBuffer, moved to the thread, not cloned.
    const copy = whole ? bytes : new Uint8Array(bytes);
    this.body.inFlight += copy.length;
    this.worker.postMessage(
      { type: 'data', id: this.id, buffer: copy.buffer, length: copy.length },
      [copy.buffer],
    );
    while (this.body.inFlight > IN_FLIGHT_BYTES && !this.body.failed) {
      await new Promise<void>(resolve => {
        this.body.room = resolve;
      });
    }
    if (this.body.failed) throw this.body.failed;
  }

  /** The hex sha256 of everything sent. */
  digest(): Promise<string> {
    if (this.body.failed) return Promise.reject(this.body.failed);
    return new Promise<string>((resolve, reject) => {
      this.body.done = { resolve, reject };
      this.worker.postMessage({ type: 'end', id: this.id });
    });
  }

  /** Gives up on this body (an error or abort while reading it). */
  drop(): void {
    this.forget();
    this.worker.postMessage({ type: 'drop', id: this.id });
  }
}

/** One worker thread and the bodies it hashes. */
class HashThread {
  readonly #worker: Worker;
  readonly #bodies = new Map<number, Waiter>();
  #nextId = 1;

  constructor(onExit: () => void) {
    this.#worker = new Worker(WORKER_SOURCE, { eval: true });
    // Idle, it must not keep the process alive.
    this.#worker.unref();
    this.#worker.on('message', (reply: Reply) => this.#onReply(reply));
    const failAll = (e: Error) => {
      onExit();
      for (const body of this.#bodies.values()) this.#fail(body, e);
      this.#bodies.clear();
    };
    this.#worker.on('error', failAll);
    this.#worker.on('exit', code =>
      failAll(new Error(`The hashing thread exited (code ${code})`)),
    );
  }

  get load(): number {
    return this.#bodies.size;
  }

  /** Stops the thread: bodies it was hashing fail. */
  async stop(): Promise<void> {
    await this.#worker.terminate();
  }

  open(): OffThreadSha256 {
    const id = this.#nextId++;
    const body: Waiter = { inFlight: 0 };
    this.#bodies.set(id, body);
    // Kept alive while it owes an answer, not while idle.
    this.#worker.ref();
    return new OffThreadSha256(this.#worker, id, body, () => this.#forget(id));
  }

  #forget(id: number) {
    this.#bodies.delete(id);
    if (this.#bodies.size === 0) this.#worker.unref();
  }

  #fail(body: Waiter, e: Error) {
    body.failed = e;
    body.room?.();
    body.done?.reject(e);
  }

  #onReply(reply: Reply) {
    if (reply.type === 'hashed') recycle(reply.buffer);
    const body = this.#bodies.get(reply.id);
    if (!body) return;
    if (reply.type === 'hashed') {
      body.inFlight -= reply.length;
      const room = body.room;
      body.room = undefined;
      room?.();
    } else if (reply.type === 'digest') {
      this.#forget(reply.id);
      body.done?.resolve(reply.hex);
    } else {
      this.#forget(reply.id);
      this.#fail(body, new Error(`Hashing failed: ${reply.message}`));
    }
  }
}

/**
 * Worker threads for hashing, started when first needed: one per core, at
 * most 4 (validation re-reads leave the main thread idle, so on two cores
 * two bodies hash at once).
 */
export class HashThreads {
  #threads: Array<HashThread | undefined>;

  constructor(count = Math.min(4, availableParallelism())) {
    this.#threads = Array.from({ length: count }, () => undefined);
  }

  /** Whether bodies are hashed off the main thread at all. */
  get enabled(): boolean {
    return this.#threads.length > 0;
  }

  /**
   * How many threads hash from now on (0: bodies hash on the main thread).
   * Threads running stop, failing what they hash: set it at start.
   */
  configure(count: number): void {
    if (count !== this.#threads.length) this.#replace(count).catch(() => {});
  }

  /** Bodies being hashed now, on every thread. */
  get pending(): number {
    return this.#threads.reduce((n, t) => n + (t?.load ?? 0), 0);
  }

  /** Stops every thread (bodies being hashed fail); later opens start anew. */
  async stop(): Promise<void> {
    await this.#replace(this.#threads.length);
  }

  /** Empty slots for `count` threads; the threads there now stop. */
  async #replace(count: number): Promise<void> {
    const old = this.#threads;
    this.#threads = Array.from({ length: count }, () => undefined);
    await Promise.all(old.map(thread => thread?.stop()));
  }

  /** A hash on the least busy thread (a new one if a slot is free). */
  open(): OffThreadSha256 {
    let best: HashThread | undefined;
    for (let i = 0; i < this.#threads.length; i++) {
      let thread = this.#threads[i];
      if (!thread) {
        thread = new HashThread(() => {
          // A thread that died is replaced on the next open.
          if (this.#threads[i] === thread) this.#threads[i] = undefined;
        });
        this.#threads[i] = thread;
        return thread.open();
      }
      if (!best || thread.load < best.load) best = thread;
    }
    if (!best) throw new Error('No hashing threads');
    return best.open();
  }
}

/** The process's hashing threads (threads are a per-process resource). */
export const hashThreads = new HashThreads();
