/**
 * @guesthb/guest-agent: the controller daemon (replaces StarlingX guestAgent). See README.md.
 */
export { createGuestAgent, type AgentView, type GuestAgent, type GuestAgentDeps } from './guest-agent.js';
export { step, tell, VOTE_GRACE_MS } from './agent-reducer.js';
export {
  emptyAgentState, type AgentEffect, type AgentInput, type AgentState, type AgentStep, type DurableRecord, type PendingVote,
  type Told, type ToldAlarm, type Tombstone,
} from './agent-state.js';
export { PMap } from './pmap.js';
export { buildVimApp, type VimAppDeps, VIM_BODY_LIMIT_BYTES } from './vim-app.js';
export { buildRxApp, type RxAppDeps } from './rx-app.js';
export {
  parseAgentConfig, parseAgentArgs, loadAgentConfig, readToken, DEFAULT_CONFIG_PATH, DEFAULT_VIM_EVENT_URL,
  type AgentConfig, type CliArgs, type CliOverrides,
} from './config.js';
export { GuestAgentError, GuestAgentErrorCode } from './errors.js';
export {
  Inventory, actionTimeout, guestInfoPatch, DEFAULT_INVENTORY_LIMITS,
  type Host, type Instance, type InventoryLimits, type InventoryReader, type NoticeTimeouts, type ServerCommand, type ServerRecord,
} from './inventory.js';
export { decideVimCommand, parseVimUri, type VimDecision, type VimForward, type VimOutcome, type VimReply, type VimRequest, type VimRoute } from './vim-commands.js';
export { planServerEvent, serviceEventOf, type EventPlan } from './server-events.js';
export { reconcileServer, type Reconciliation } from './reconcile.js';
export { guestResponseOf, vimEventRequest, VIM_EVENT_KINDS, type VimEvent, type VimEventKind } from './vim-events.js';
export { VimOutbox, DEFAULT_VIM_OUTBOX_OPTIONS, vimOutboxItem, type VimOutboxObserver } from './vim-outbox.js';
export { ServerCommander } from './server-commander.js';
export { createVimClient, type VimClient, type SendOutcome } from './vim-client.js';
export { createServerClient, type ServerClient } from './server-client.js';
export { createAgentMetrics, type AgentMetrics } from './metrics.js';
export { main } from './main.js';
