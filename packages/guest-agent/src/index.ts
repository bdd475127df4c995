/**
 * @guesthb/guest-agent: the controller daemon (replaces StarlingX guestAgent). See README.md.
 */
export { createGuestAgent, type GuestAgent, type GuestAgentDeps } from './guest-agent.js';
export { buildVimApp, type VimAppDeps, VIM_BODY_LIMIT_BYTES } from './vim-app.js';
export { buildRxApp, type RxAppDeps } from './rx-app.js';
export {
  parseAgentConfig, parseAgentArgs, loadAgentConfig, readToken, DEFAULT_CONFIG_PATH, DEFAULT_VIM_EVENT_URL,
  type AgentConfig, type CliArgs, type CliOverrides,
} from './config.js';
export { GuestAgentError, GuestAgentErrorCode } from './errors.js';
export {
  Inventory, actionTimeout, adoptGuestInfo, DEFAULT_INVENTORY_LIMITS,
  type Host, type Instance, type InventoryLimits, type NoticeTimeouts, type ServerCommand, type ServerRecord,
} from './inventory.js';
export { handleVimCommand, parseVimUri, type VimOutcome, type VimReply, type VimRequest, type VimRoute } from './vim-commands.js';
export { planServerEvent, serviceEventOf, type EventPlan } from './server-events.js';
export { reconcileServer, type Reconciliation } from './reconcile.js';
export { guestResponseOf, vimEventRequest, VIM_EVENT_KINDS, type VimEvent, type VimEventKind } from './vim-events.js';
export { VimOutbox, DEFAULT_OUTBOX_OPTIONS, type OutboxOptions, type OutboxObserver, type DropReason } from './vim-outbox.js';
export { createVimClient, type VimClient, type SendOutcome } from './vim-client.js';
export { createServerClient, type ServerClient } from './server-client.js';
export { createAgentMetrics, type AgentMetrics } from './metrics.js';
export { main } from './main.js';
