/** The text of `guest-server --help` (issue 15: a full help, not one line). */
export const SERVER_HELP = `usage: guest-server [--config FILE] [--channel-dir DIR] [--agent-url URL] [--port N]
                    [--hostname NAME] [--pidfile FILE] [--log-level L] [--state-dir DIR]

The compute-host daemon of the guest heartbeat service (replaces StarlingX guestServer): finds the
heartbeat channel sockets QEMU creates for each VM (cgcs.heartbeat.<uuid>.sock), heartbeats the guest
in each, and reports to guest-agent.

options (override the config file):
  --config FILE        guest.ini to read ([client], [timeouts], [debug]); without it, built-in defaults
                       (installs use --config /etc/mtc/guest.ini)
  --channel-dir DIR    where QEMU/libvirt create the channel sockets ([client] channel_dir,
                       default /var/lib/libvirt/qemu)
  --agent-url URL      guest-agent's rx_port listener ([client] agent_url, default http://controller:2401)
  --port N             command port for the agent, /healthz and /metrics ([client] rx_port, default 2411)
  --hostname NAME      this host's name as the agent and VIM know it ([client] hostname, default the OS's)
  --pidfile FILE       write the pid here while running
  --log-level L        fatal, error, warn, info, debug, trace or silent (default from [debug], else info)
  --state-dir DIR      what survives a restart: instance knowledge, unacknowledged events ([client]
                       state_dir, default /var/lib/guest-server, created 0700)
  -h, --help           this text
  --version            the version

other [client] keys: hbs_failure_threshold, hbs_pulse_period, advertise_url, bind_address, token_file,
search_audit_secs, max_instances, outbox_max_events, init_deadline_secs (see packages/guest-server/README.md).

signals: SIGTERM/SIGINT stop gracefully; SIGHUP re-reads the config (what can change at run time).
logs: JSON lines on stdout (pino); for people, pipe them through pino-pretty.
exit codes: 0 clean stop, 1 failure, 2 configuration or command-line error.`;
