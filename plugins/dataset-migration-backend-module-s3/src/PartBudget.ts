/** Releases a grant of {@link PartBudget}; calling it again does nothing. */
export type ReleasePart = () => void;

/** A part buffer granted by {@link PartBudget.acquireBuffer}. */
export interface PartBuffer {
  buffer: Buffer;
  /**
   * Returns the grant. With `reuse`, the buffer is kept for a later part of
   * the same size: pass it only when nothing can still read the buffer (its
   * request has succeeded). Calling it again does nothing.
   */
  release(reuse?: boolean): void;
}

interface Waiter {
  bytes: number;
  grant: (release: ReleasePart) => void;
}

/**
 * A byte semaphore for multipart part buffers, shared by every upload of one
 * S3 backend: an upload takes a grant before it buffers a part and returns it
 * once the part is sent, so the bytes buffered by all concurrent uploads stay
 * within `capacity`.
 *
 * Grants are per part and first come, first served: a request waits behind
 * earlier ones even if it would fit (no starvation of full-size parts by
 * small ones), and every grant is returned without needing another (a part
 * in flight needs no more memory to finish), so waiting never deadlocks. A
 * request larger than the whole budget (a part grown for an object of more
 * than 10,000 parts) is granted alone, when nothing else is held.
 *
 * @public
 */
export class PartBudget {
  readonly capacity: number;
  #inUse = 0;
  #peak = 0;
  #waiters: Waiter[] = [];
  /** Buffers of sent parts, for the next parts (counted with inUse ≤ capacity). */
  #free: Buffer[] = [];
  #freeBytes = 0;

  constructor(capacityBytes: number) {
    if (!(capacityBytes > 0)) {
      throw new RangeError(
        `A part budget must be positive, got ${capacityBytes}`,
      );
    }
    this.capacity = capacityBytes;
  }

  /** Bytes granted and not yet released. */
  get inUse(): number {
    return this.#inUse;
  }

  /** The most bytes ever granted at once (since the last `resetPeak`). */
  get peak(): number {
    return this.#peak;
  }

  /** Requests waiting for a grant. */
  get waiting(): number {
    return this.#waiters.length;
  }

  /** Bytes of sent parts' buffers kept for reuse (never more than capacity − inUse). */
  get pooled(): number {
    return this.#freeBytes;
  }

  resetPeak() {
    this.#peak = this.#inUse;
  }

  /**
   * Waits until `bytes` fit, then holds them until the returned function is
   * called. Rejects with the signal's reason (or an AbortError) when it
   * aborts first; nothing is held then.
   */
  acquire(bytes: number, signal?: AbortSignal): Promise<ReleasePart> {
    if (signal?.aborted) {
      return Promise.reject(abortReason(signal));
    }
    if (this.#waiters.length === 0 && this.#fits(bytes)) {
      return Promise.resolve(this.#grant(bytes));
    }
    return new Promise<ReleasePart>((resolve, reject) => {
      const waiter: Waiter = { bytes, grant: resolve };
      const onAbort = () => {
        const index = this.#waiters.indexOf(waiter);
        if (index >= 0) {
          this.#waiters.splice(index, 1);
          // The head may have been what held later requests back.
          this.#drain();
        }
        reject(abortReason(signal!));
      };
      waiter.grant = release => {
        signal?.removeEventListener('abort', onAbort);
        resolve(release);
      };
      this.#waiters.push(waiter);
      signal?.addEventListener('abort', onAbort, { once: true });
    });
  }

  /**
   * Like `acquire`, with a buffer of `bytes` bytes to fill: one a finished
   * part left behind when there is one of that size, else a new one. Reuse
   * keeps the memory of part buffers at what the budget grants: freed ones
   * would otherwise linger until the garbage collector runs.
   */
  async acquireBuffer(
    bytes: number,
    signal?: AbortSignal,
  ): Promise<PartBuffer> {
    const release = await this.acquire(bytes, signal);
    const buffer = this.#takeFree(bytes) ?? Buffer.allocUnsafe(bytes);
    let released = false;
    return {
      buffer,
      release: (reuse = false) => {
        if (released) {
          return;
        }
        released = true;
        if (reuse && bytes > 0) {
          this.#free.push(buffer);
          this.#freeBytes += bytes;
        }
        release();
        if (this.#inUse === 0 && this.#waiters.length === 0) {
          // Idle: give the memory back.
          this.#free = [];
          this.#freeBytes = 0;
        }
      },
    };
  }

  #takeFree(bytes: number): Buffer | undefined {
    const index = this.#free.findIndex(b => b.length === bytes);
    if (index >= 0) {
      this.#freeBytes -= bytes;
      return this.#free.splice(index, 1)[0];
    }
    // A new buffer: drop kept ones so that kept + granted stay in budget.
    while (
      this.#free.length > 0 &&
      this.#inUse + this.#freeBytes > this.capacity
    ) {
      this.#freeBytes -= this.#free.shift()!.length;
    }
    return undefined;
  }

  #fits(bytes: number) {
    return this.#inUse + bytes <= this.capacity || this.#inUse === 0;
  }

  #grant(bytes: number): ReleasePart {
    this.#inUse += bytes;
    this.#peak = Math.max(this.#peak, this.#inUse);
    let released = false;
    return () => {
      if (released) {
        return;
      }
      released = true;
      this.#inUse -= bytes;
      this.#drain();
    };
  }

  #drain() {
    while (this.#waiters.length > 0 && this.#fits(this.#waiters[0].bytes)) {
      const waiter = this.#waiters.shift()!;
      waiter.grant(this.#grant(waiter.bytes));
    }
  }
}

function abortReason(signal: AbortSignal): unknown {
  return (
    signal.reason ??
    Object.assign(new Error('The operation was aborted'), {
      name: 'AbortError',
    })
  );
}
