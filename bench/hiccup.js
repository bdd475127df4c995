// Scheduling hiccups of this machine: a 1 ms timer's lateness over a window, as a process that does nothing
// else sees it. Run it pinned beside a busy CPU at two priorities to see what the scheduler alone costs:
//   taskset -c 0 nice -n -10 node bench/hiccup.js 20 & taskset -c 0 node bench/hiccup.js 20; wait
// Prints n, p50, p99, p99.9 and max lateness (ms) and how many exceeded 10 and 50 ms.
const seconds = Number(process.argv[2] ?? 20);
const gaps = [];
let last = performance.now();
const timer = setInterval(() => {
  const now = performance.now();
  gaps.push(now - last - 1);
  last = now;
}, 1);
setTimeout(() => {
  clearInterval(timer);
  gaps.sort((a, b) => a - b);
  const q = (p) => gaps[Math.floor(p * (gaps.length - 1))].toFixed(2);
  const over = (ms) => gaps.filter((g) => g > ms).length;
  console.log(`n=${gaps.length} p50=${q(0.5)} p99=${q(0.99)} p99.9=${q(0.999)} max=${q(1)} ms; >10 ms: ${over(10)}, >50 ms: ${over(50)}`);
}, seconds * 1000);
