/**
 * @guesthb/protocol: the pure library every daemon shares. No net, fs, timers or logger.
 * See README.md for the API and every deliberate difference from the original.
 */
export * from './constants.js';
export * from './enums.js';
export * from './errors.js';
export * from './wire-messages.js';
export * from './wire-encoder.js';
export * from './line-framer.js';
export * from './message-parser.js';
export * from './hot-path-parser.js';
export * from './response-bytes.js';
export * from './wire-decoder.js';
export * from './nack.js';
export * from './challenge.js';
export * from './challenge-frame.js';
export * from './clock.js';
export * from './deadline-timers.js';
export * from './backoff.js';
export * from './channel-name.js';
export * from './corroboration.js';
export * from './peer-api.js';
export * from './vim-api.js';
export * from './operator-api.js';
