/**
 * Host-side corroboration of a loss or ill-health report (issue 16): why a guest went silent, as guest-server
 * saw it from its QEMU process, and the forensics ring of the instance's last challenge round trips.
 * Travels as an optional field of the server's `loss` and `ill-health` events and of the agent's operator
 * view; the VIM never sees it (its event bodies stay byte-exact).
 */
import { z } from 'zod';

/**
 * The classes, in the order the classifier tests them:
 * `vmm-gone` the QEMU process found earlier no longer exists; `vmm-stopped` it is stopped (SIGSTOP, a
 * debugger); `vcpus-paused` no vCPU ran and none waited to run (QMP `stop`); `host-starved` vCPUs were
 * runnable but waited for a host CPU; `guest-busy` vCPUs ran near 100 % (a spinning kernel or a hog);
 * `guest-alive-heartbeat-dead` ordinary vCPU activity (the OS runs, its heartbeat does not);
 * `unknown` no QEMU process (or no vCPU threads) found, or too little evidence.
 */
export const LOSS_CLASSES = [
  'vmm-gone', 'vmm-stopped', 'vcpus-paused', 'host-starved', 'guest-busy', 'guest-alive-heartbeat-dead', 'unknown',
] as const;
export type LossClass = (typeof LOSS_CLASSES)[number];

/** Most round trips kept per instance (and sent with a loss). */
export const FORENSICS_ROUNDS = 32;

/** One challenge of the forensics ring: answered after `rttMs`, or missed (`rttMs` null). */
export const ForensicsRoundSchema = z.object({
  /** How long before the report the challenge was sent, ms. */
  agoMs: z.number().nonnegative(),
  rttMs: z.number().nonnegative().nullable(),
});
export type ForensicsRound = z.infer<typeof ForensicsRoundSchema>;

/** What the classification rests on: the QEMU process and its vCPU threads over the evidence window. */
export const CorroborationEvidenceSchema = z.object({
  /** The QEMU process holding the channel, if one was found. */
  pid: z.number().int().positive().optional(),
  /** Its state letter in /proc/<pid>/stat at the last sample (R, S, D, T, t, Z …), or `gone`. */
  processState: z.string().max(8).optional(),
  /** vCPU threads found ("CPU n/KVM", "CPU n/TCG"). */
  vcpus: z.number().int().nonnegative(),
  /** Span of the samples compared, ms. */
  windowMs: z.number().nonnegative(),
  /** Samples in that span. */
  samples: z.number().int().nonnegative(),
  /** vCPU CPU time over the window, % of the window per vCPU (100 = always running). */
  cpuPct: z.number().nonnegative().optional(),
  /** vCPU run-queue wait over the window, % of the window per vCPU (runnable but not running). */
  waitPct: z.number().nonnegative().optional(),
  /** Times the vCPU threads were scheduled in over the window. */
  slices: z.number().int().nonnegative().optional(),
  /** vCPU threads runnable (state R) at the last sample. */
  runnable: z.number().int().nonnegative().optional(),
});
export type CorroborationEvidence = z.infer<typeof CorroborationEvidenceSchema>;

export const CorroborationSchema = z.object({
  class: z.enum(LOSS_CLASSES),
  evidence: CorroborationEvidenceSchema,
  /** The loss was held this long because the host starved the guest ([client] corroborate = defer-starved). */
  deferredMs: z.number().nonnegative().optional(),
  /** The last challenges, oldest first (at most FORENSICS_ROUNDS). */
  rounds: z.array(ForensicsRoundSchema).max(FORENSICS_ROUNDS),
  /** The guest's last non-empty log_msg (challenge response, action response or exit). */
  lastLogMsg: z.string().max(256).optional(),
});
export type Corroboration = z.infer<typeof CorroborationSchema>;
