#!/bin/sh
# /init of the e2e guest: loads the virtio modules, finds the heartbeat port by name (no udev here, so via
# /sys/class/virtio-ports/*/name: shared/spec/qemu-e2e.md §3 pitfall 2) and runs a v3 heartbeat responder
# that behaves as the reference guest-client does (shared/spec/stx-guest-client.md §3–§6):
#   enabling: send init at once and every 5 s with a fresh invocation_id until an init_ack for the current
#             or previous id arrives;
#   enabled:  answer each challenge at once with its value echoed; back to enabling (new init) when no
#             challenge came for max(2 × interval, 5 s);
#   action_notify: answered with accept (revocable) or complete (irrevocable).
# Kernel command-line parameters arrive as environment variables: hbname, hbms (interval), hbaction, and
# hbdie=N: the responder runs as a child and is killed (-9) N seconds after the port was found, while /init
# goes on with light ordinary activity (the OS runs, its heartbeat does not: issue 16); hbspin=N: the same,
# but /init then spins (a CPU hog inside the guest).
export PATH=/bin
/bin/busybox --install -s /bin
mount -t devtmpfs devtmpfs /dev
mount -t proc proc /proc
mount -t sysfs sysfs /sys
for m in $(cat /lib/modules/order); do
  insmod "/lib/modules/$m.ko" 2>/dev/null || echo "init: insmod $m failed" > /dev/console
done
NAME=${hbname:-cgcs.heartbeat}
HB_MS=${hbms:-1000}
ACTION=${hbaction:-reboot}
PORT=; i=0
while [ -z "$PORT" ] && [ $i -lt 1000 ]; do
  for d in /sys/class/virtio-ports/vport*; do
    [ -e "$d/name" ] && [ "$(cat "$d/name")" = "$NAME" ] && [ -e "/dev/${d##*/}" ] && PORT=/dev/${d##*/}
  done
  [ -z "$PORT" ] && usleep 10000
  i=$((i+1))
done
[ -n "$PORT" ] || { echo "init: port $NAME missing" > /dev/console; poweroff -f; }
mkdir -p /dev/virtio-ports && ln -sf "$PORT" "/dev/virtio-ports/$NAME"
echo "E2E-GUEST-READY port=$PORT interval=$HB_MS" > /dev/console

NOW=0
now_cs() { read -r up _ < /proc/uptime; s=${up%.*}; f=${up#*.}; f=${f#0}; NOW=$((s * 100 + f)); }
# Value of a key in a compact one-line JSON object (the host's encoder writes no spaces).
get() { v=${line#*\"$1\":}; [ "$v" = "$line" ] && { v=; return; }; v=${v%%[,\}]*}; v=${v#\"}; v=${v%\"}; }

SEQ=0
send() { SEQ=$((SEQ + 1)); printf '\n{"version":3,"revision":1,"msg_type":"%s","sequence":%d%s}\n' "$1" "$SEQ" "$2" >&3; }
INV=0; PREV=0
send_init() {
  PREV=$INV; INV=$(( (RANDOM * 32768 + RANDOM) % 2147483647 ))
  send init ",\"invocation_id\":$INV,\"name\":\"e2e-guest\",\"heartbeat_interval_ms\":$HB_MS,\"vote_secs\":9,\"shutdown_notice_secs\":9,\"suspend_notice_secs\":9,\"resume_notice_secs\":14,\"restart_secs\":601,\"corrective_action\":\"$ACTION\""
  echo "E2E-GUEST init $INV" > /dev/console
}
TIMEOUT_CS=$((HB_MS * 2 / 10)); [ $TIMEOUT_CS -lt 500 ] && TIMEOUT_CS=500
RETRY_CS=500

exec 3<>"$PORT"
responder() {
STATE=enabling
send_init; now_cs; LAST=$NOW
while true; do
  line=
  if IFS= read -r -t 1 line <&3; then
    case "$line" in
      *'"msg_type":"init_ack"'*)
        get invocation_id
        if [ "$STATE" = enabling ] && { [ "$v" = "$INV" ] || [ "$v" = "$PREV" ]; }; then
          STATE=enabled; now_cs; LAST=$NOW
          echo "E2E-GUEST enabled $v" > /dev/console
        fi ;;
      *'"msg_type":"challenge"'*)
        if [ "$STATE" = enabled ]; then
          get heartbeat_challenge
          send challenge_response ",\"heartbeat_response\":$v,\"heartbeat_health\":\"healthy\",\"corrective_action\":\"$ACTION\",\"log_msg\":\"\""
          now_cs; LAST=$NOW
        fi ;;
      *'"msg_type":"action_notify"'*)
        get invocation_id; id=$v; get event_type; ev=$v; get notification_type; nt=$v
        vote=complete; [ "$STATE" = enabled ] && [ "$nt" = revocable ] && vote=accept
        send action_response ",\"invocation_id\":$id,\"event_type\":\"$ev\",\"notification_type\":\"$nt\",\"vote_result\":\"$vote\",\"log_msg\":\"\"" ;;
      *'"msg_type":"nack"'*)
        echo "E2E-GUEST nack: $line" > /dev/console ;;
    esac
  else
    # Timeout, or EOF because no host client is connected (virtio_console design): poll gently.
    usleep 20000
  fi
  now_cs
  if [ "$STATE" = enabling ] && [ $((NOW - LAST)) -ge $RETRY_CS ]; then
    send_init; LAST=$NOW
  elif [ "$STATE" = enabled ] && [ $((NOW - LAST)) -ge $TIMEOUT_CS ]; then
    echo "E2E-GUEST challenge timeout" > /dev/console
    STATE=enabling; send_init; LAST=$NOW
  fi
done
}

if [ -n "$hbdie" ] || [ -n "$hbspin" ]; then
  responder &
  RPID=$!
  sleep "${hbdie:-$hbspin}"
  kill -9 "$RPID"
  if [ -n "$hbspin" ]; then
    echo "E2E-GUEST responder killed, spinning" > /dev/console
    while :; do :; done
  fi
  echo "E2E-GUEST responder killed" > /dev/console
  while true; do usleep 100000; done
fi
responder
