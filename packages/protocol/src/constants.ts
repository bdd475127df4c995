/**
 * Numbers of the systems we replace, each with the spec section it comes from.
 * "daemons" = shared/spec/stx-guest-daemons.md, "client" = shared/spec/stx-guest-client.md,
 * "vim" = shared/spec/vim-guest-api.md.
 */

/** Protocol version the host sends and the minimum it accepts (daemons §1.5, §10). */
export const PROTOCOL_VERSION = 3;
/** Protocol revision sent; required on receipt but not interpreted (daemons §1.6). */
export const PROTOCOL_REVISION = 1;

/** Largest host↔guest message, in bytes, excluding the framing newlines (daemons §1.4, §10). */
export const MAX_MESSAGE_BYTES = 1056;
/** Smallest message the original accepted per read; we do not apply it (daemons §9 item 4). */
export const ORIGINAL_MIN_READ_BYTES = 32;
/** Buffer size of token-like string values: msg_type, event_type, corrective_action … (client §3). */
export const MAX_VALUE_CHARS = 32;
/** Buffer size of the instance name (client §3). */
export const MAX_NAME_CHARS = 64;
/** Buffer size of log_msg (client §3); the reference client cuts at 223 characters. */
export const MAX_LOG_CHARS = 224;
/** Length of an instance uuid in socket names and URLs (daemons §1.1, §10). */
export const UUID_CHARS = 36;

/** Largest value of a heartbeat_challenge / invocation_id: rand() range (daemons §1.8). */
export const MAX_CHALLENGE = 2 ** 31 - 1;
/** Bounds of the integers the reference client reads with json_object_get_int (client §3). */
export const INT32_MIN = -(2 ** 31);
export const INT32_MAX = 2 ** 31 - 1;

/** guest.ini [agent] rx_port: events from guest-servers (daemons §3.1). */
export const AGENT_RX_PORT = 2401;
/** guest.ini [agent] vim_cmd_port: the VIM's command receiver, on 127.0.0.1 (daemons §4.1, vim §1.1). */
export const AGENT_VIM_CMD_PORT = 2410;
/** guest.ini [client] rx_port: commands from the agent (daemons §3.1). */
export const SERVER_RX_PORT = 2411;
/** The VIM's guest REST API listener (daemons §5, vim §2.1). */
export const VIM_EVENT_PORT = 30002;

/** guest.ini [client] hbs_pulse_period: the floor of heartbeat_interval_ms (daemons §1.6, §10). */
export const HBS_PULSE_PERIOD_MS = 400;
/** guest.ini [client] hbs_failure_threshold default: loss when misses > threshold (daemons §1.9). */
export const HBS_FAILURE_THRESHOLD = 1;
/** Heartbeat interval before any init (daemons §2.1, §10). */
export const DEFAULT_HEARTBEAT_INTERVAL_MS = 1000;
/** Vote/shutdown/suspend/resume notice defaults before any init, seconds (daemons §2.1, §10). */
export const DEFAULT_NOTICE_SECS = 10;
/** Restart timeout default before any init, seconds (daemons §2.1, §10). */
export const DEFAULT_RESTART_SECS = 120;
/** Default corrective action on loss before any init (daemons §2.1). */
export const DEFAULT_CORRECTIVE_ACTION = 'log';

/** Connect backoff: first wait, cap (daemons §1.3: 1, 2, 4 … 60 s). */
export const CONNECT_BACKOFF_FIRST_MS = 1000;
export const CONNECT_BACKOFF_MAX_MS = 60_000;
/** Reconnect a connected channel that is not heartbeating after this long (daemons §2.5). */
export const HEARTBEAT_START_TIMEOUT_MS = 120_000;
/** Wait-for-init after suspend / migrate-begin / reboot (daemons §2.5, §8.3). */
export const WAIT_FOR_INIT_TIMEOUT_MS = 60_000;
/** Directory search audit period (daemons §1.1, §10). */
export const SEARCH_AUDIT_SECS = 180;
/** Agent → server query audit period (daemons §6.1, §10). */
export const AUDIT_PERIOD_SECS = 10;
/** The original's blocking VIM HTTP timeout (daemons §10, vim §1.1). */
export const VIM_HTTP_TIMEOUT_MS = 20_000;

/** Reference guest-client: init retry period (client §6). */
export const CLIENT_INIT_RETRY_MS = 5000;
/** Reference guest-client: minimum challenge timeout (client §6: max(2 × interval, 5000)). */
export const CLIENT_MIN_CHALLENGE_TIMEOUT_MS = 5000;
/** Reference guest-client: propagation delay added to each *_secs sent (client §4.1). */
export const CLIENT_PROPAGATION_DELAY_SECS = 1;

/** Socket file name patterns of heartbeat channels (daemons §1.1). */
export const CHANNEL_PREFIX = 'cgcs.heartbeat.';
export const CHANNEL_ALT_PREFIX = 'wrs.heartbeat.agent.0.';
export const CHANNEL_SUFFIX = '.sock';
/** Where libvirt/QEMU creates the channels (daemons §1.1). */
export const DEFAULT_CHANNEL_DIR = '/var/lib/libvirt/qemu';
/** virtio-serial port name inside the guest (client §2). */
export const DEFAULT_GUEST_DEVICE = '/dev/virtio-ports/cgcs.heartbeat';
/** The one User-Agent the agent's VIM receiver accepts (vim §1.1). */
export const VIM_USER_AGENT = 'vim/1.0';
