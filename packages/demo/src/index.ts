/** @guesthb/demo: the `npm start` all-in-one demo, as a library for its test. */
export { runDemo, type DemoOptions, type DemoReady } from './demo.js';
export { StatusView, renderTable, type StatusRow } from './status-view.js';
export { describeEvent, eventLabel, startVimSink, type SinkEvent, type SinkInventory, type VimSink } from './vim-sink.js';
export { provisioningCalls, vimCall, vimCallUntilOk, type VimCall } from './vim-client.js';
