// Wake-up lateness from idle, as a 100-guest server's timers see it: N timers every 400 ms, in clusters of K
// due together (K = N: every guest started at once, as the bench's do; K = 1: evenly spread), nothing else.
//   taskset -c 0 nice -n -10 node bench/timer-wake.js 100 100
//   taskset -c 0 nice -n -10 node bench/timer-wake.js 100 1
const N = Number(process.argv[2] ?? 100);
const K = Number(process.argv[3] ?? N);
const seconds = Number(process.argv[4] ?? 20);
const late = [];
const clusters = Math.ceil(N / K);
for (let i = 0; i < N; i++) {
  let due = performance.now() + (Math.floor(i / K) * 400) / clusters + 400;
  const arm = () => setTimeout(() => {
    late.push(performance.now() - due);
    due += 400;
    arm();
  }, Math.max(0, Math.ceil(due - performance.now())));
  arm();
}
setTimeout(() => {
  late.sort((a, b) => a - b);
  const q = (p) => late[Math.floor(p * (late.length - 1))].toFixed(2);
  console.log(`N=${N} K=${K} n=${late.length} lateness p50=${q(0.5)} p99=${q(0.99)} max=${q(1)} ms`);
  process.exit(0);
}, seconds * 1000);
