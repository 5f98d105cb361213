// @ts-check
'use strict';
/**
 * The stack events this Lambda container has read already.
 *
 * DescribeStackEvents pages a stack's history newest first, 100 events a
 * page, with no filter: finding one resource's operation means paging down
 * to it. During a large deployment every request of the stack does that,
 * and the same pages are read again and again. A stack's history only grows
 * at the top: an event, once logged, does not change. So a warm container
 * keeps what it read, and the next request reads from the top only until it
 * meets an event it knows; below that point it reads the copy. What it keeps
 * comes from CloudFormation's API and nothing else, so the copy carries the
 * same authority as a fresh read (authority.js).
 *
 * One cache lives for the container (index.js). A request without one
 * (tests, the bench) gets its own, which still serves its lag retries: they
 * read the newest page and reuse the rest.
 *
 * @typedef {import('./aws').StackEvent} StackEvent
 * @typedef {import('./aws').AwsPort} AwsPort
 * @typedef {{ events: StackEvent[], ids: Map<string, number>, tail: string | undefined, complete: boolean }} Entry
 *   events: contiguous, newest first; ids: EventId → index; tail: the token for the page after the last one
 *   kept; complete: nothing older exists (or nothing older is kept, see MAX_EVENTS)
 */

/** Events kept per stack: 30 pages, more than a reader ever needs (stack-log.js reads at most 2,000). */
const MAX_EVENTS = 3_000;

class StackEventCache {
  constructor() {
    /** @type {Map<string, Entry>} */
    this.stacks = new Map();
  }

  /**
   * The stack's events, newest first, read from CloudFormation only down to
   * the first one already known. Stop iterating whenever what is needed is
   * found: what was read is kept either way.
   * @param {string} stackId
   * @param {AwsPort} aws
   * @returns {AsyncGenerator<StackEvent>}
   */
  async* newestFirst(stackId, aws) {
    const known = this.stacks.get(stackId);
    /** @type {StackEvent[]} whole pages from the top, not yet known */
    const fresh = [];
    /** @type {string | undefined} */
    let token;
    let end = false;
    /** @type {number | undefined} where the fresh pages meet the known events */
    let joinAt;
    /** @type {StackEvent[]} pages read below the known events */
    const below = [];
    let belowTail = known?.tail;
    let belowEnd = known?.complete ?? false;
    try {
      for (;;) {
        const page = await aws.stackEvents(stackId, token);
        const meet = known ? page.events.findIndex((e) => e.EventId !== undefined && known.ids.has(e.EventId)) : -1;
        const news = meet === -1 ? page.events : page.events.slice(0, meet);
        fresh.push(...news);
        if (meet !== -1 && known) joinAt = known.ids.get(/** @type {string} */ (page.events[meet].EventId));
        for (const e of news) yield e;
        if (joinAt !== undefined) break;
        token = page.nextToken;
        if (!token) {
          end = true;
          return;
        }
      }
      if (!known || joinAt === undefined) return;
      for (let i = joinAt; i < known.events.length; i++) yield known.events[i];
      while (belowTail && !belowEnd) {
        const page = await aws.stackEvents(stackId, belowTail);
        below.push(...page.events);
        belowTail = page.nextToken;
        belowEnd = !belowTail;
        for (const e of page.events) yield e;
      }
    } finally {
      if (known && joinAt !== undefined) {
        this.keep(stackId, [...fresh, ...known.events.slice(joinAt), ...below], belowTail, belowEnd);
      } else if (fresh.length > 0) {
        this.keep(stackId, fresh, token, end);
      }
    }
  }

  /**
   * @param {string} stackId
   * @param {StackEvent[]} events contiguous, newest first
   * @param {string | undefined} tail
   * @param {boolean} complete
   */
  keep(stackId, events, tail, complete) {
    const kept = events.slice(0, MAX_EVENTS);
    /** @type {Map<string, number>} */
    const ids = new Map();
    kept.forEach((e, i) => {
      if (e.EventId !== undefined && !ids.has(e.EventId)) ids.set(e.EventId, i);
    });
    const cut = kept.length < events.length;
    this.stacks.set(stackId, { events: kept, ids, tail: cut ? undefined : tail, complete: cut || complete });
  }
}

module.exports = { StackEventCache, MAX_EVENTS };
