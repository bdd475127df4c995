/**
 * @guesthb/outbox: one outbox for both daemons (issue 12 item 8b) and the crash-safe journal that persists
 * it. Depends only on @guesthb/protocol (Clock, backoff) and Node built-ins. README.md documents the API.
 */
export * from './outbox-queue.js';
export * from './outbox.js';
export * from './key-value-store.js';
export * from './journal-codec.js';
export * from './journal.js';
