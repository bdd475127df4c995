/** The text of `guest-agent --help` (issue 15: a full help, not one line). */
import { DEFAULT_CONFIG_PATH } from './config.js';

export const AGENT_HELP = `usage: guest-agent [--config FILE] [--port N] [--vim-cmd-port N] [--vim-event-url URL]
                   [--pidfile FILE] [--log-level L]

The controller daemon of the guest heartbeat service (replaces StarlingX guestAgent): receives the VIM's
commands, collects events from every compute host's guest-server, forwards alarms and vote results to
the VIM, audits both sides, and serves the operator API and status page.

options (override the config file):
  --config FILE         guest.ini to read (default ${DEFAULT_CONFIG_PATH}); [agent], [timeouts], [debug]
  --port N              listener for guest-servers, /healthz, /metrics, the operator API and /ui
                        ([agent] rx_port, default 2401; bound on [agent] rx_host, default 0.0.0.0)
  --vim-cmd-port N      the VIM's command port ([agent] vim_cmd_port, default 2410, on vim_cmd_host 127.0.0.1)
  --vim-event-url URL   the VIM's guest event listener ([agent] vim_event_url, default http://127.0.0.1:30002)
  --pidfile FILE        write the pid here while running
  --log-level L         fatal, error, warn, info, debug, trace or silent (default from [debug], else info)
  -h, --help            this text
  --version             the version

other [agent] keys: audit_period_secs (10), token_file (bearer token of the peer and operator APIs),
hbs_failure_threshold (accepted, unused), and those listed in packages/guest-agent/README.md.

status page: http://<host>:<port>/ui/   operator API: /v1/operator/{hosts,instances,events}   (guestctl)
signals: SIGTERM/SIGINT stop gracefully; SIGHUP re-reads the config (log level, audit period, token).
logs: JSON lines on stdout (pino); for people, pipe them through pino-pretty.
exit codes: 0 clean stop, 1 failure, 2 configuration or command-line error.`;
