import { PartBudget } from './PartBudget';

const tick = () => new Promise(r => setImmediate(r));

describe('PartBudget', () => {
  it('grants while bytes fit, then first come first served as they are released', async () => {
    const budget = new PartBudget(10);
    const a = await budget.acquire(5);
    const b = await budget.acquire(5);
    expect([budget.inUse, budget.peak]).toEqual([10, 10]);

    const order: string[] = [];
    const big = budget.acquire(6).then(r => {
      order.push('big');
      return r;
    });
    // Would fit after one release, but waits behind the earlier request.
    const small = budget.acquire(1).then(r => {
      order.push('small');
      return r;
    });
    await tick();
    expect([order, budget.waiting]).toEqual([[], 2]);

    a();
    a(); // a second call releases nothing more
    await tick();
    expect([order, budget.inUse]).toEqual([[], 5]);
    b();
    await tick();
    expect(order).toEqual(['big', 'small']);
    expect([budget.inUse, budget.waiting, budget.peak]).toEqual([7, 0, 10]);
    (await big)();
    (await small)();
    expect(budget.inUse).toBe(0);
  });

  it('grants a request larger than the budget alone, when nothing is held', async () => {
    const budget = new PartBudget(10);
    const held = await budget.acquire(4);
    let granted = false;
    const huge = budget.acquire(25).then(r => {
      granted = true;
      return r;
    });
    await tick();
    expect(granted).toBe(false);
    held();
    (await huge)();
    expect(budget.peak).toBe(25);
    expect(budget.inUse).toBe(0);
  });

  it('drops an aborted request, holding nothing, and lets the next one in', async () => {
    const budget = new PartBudget(10);
    const held = await budget.acquire(8);
    const controller = new AbortController();
    const aborted = budget.acquire(5, controller.signal);
    const next = budget.acquire(2);
    controller.abort(new Error('gave up'));
    await expect(aborted).rejects.toThrow('gave up');
    // The aborted head no longer holds back a request that fits.
    (await next)();
    held();
    expect([budget.inUse, budget.waiting]).toEqual([0, 0]);
    await expect(
      budget.acquire(1, AbortSignal.abort(new Error('already'))),
    ).rejects.toThrow('already');
    expect(budget.inUse).toBe(0);
  });

  it('reuses the buffers of sent parts, keeping kept plus granted within the budget, and lets them go when idle', async () => {
    const budget = new PartBudget(10);
    const a = await budget.acquireBuffer(4);
    const b = await budget.acquireBuffer(4);
    expect(a.buffer).toHaveLength(4);
    a.release(true);
    expect([budget.inUse, budget.pooled]).toEqual([4, 4]);
    // The same size gets the kept buffer back.
    const c = await budget.acquireBuffer(4);
    expect(c.buffer).toBe(a.buffer);
    expect(budget.pooled).toBe(0);
    c.release(true);
    // Another size: a new buffer, and the kept one goes to stay in budget.
    const d = await budget.acquireBuffer(5);
    expect(d.buffer).not.toBe(a.buffer);
    expect([budget.inUse, budget.pooled]).toEqual([9, 0]);
    // Not reusable (a failed request may still read it): not kept.
    d.release();
    expect([budget.inUse, budget.pooled]).toEqual([4, 0]);
    b.release(true);
    // Idle: nothing kept.
    expect([budget.inUse, budget.pooled]).toEqual([0, 0]);
  });
});
