// quality.js — the simplified ITU-T G.107 E-model the Go engine uses
// (media/quality), so STATS from the browser and from the softphone read
// the same.

// rFactor: effLat = latency + 2·jitter + 10; R = 93.2 − effLat/40 below
// 160 ms, else 93.2 − (effLat − 120)/10; minus 2.5 per percent of loss.
export function rFactor(latencyMs, jitterMs, lossPct) {
  const nonNeg = (v) => (Number.isFinite(v) && v > 0 ? v : 0);
  const eff = nonNeg(latencyMs) + 2 * nonNeg(jitterMs) + 10;
  const r = eff < 160 ? 93.2 - eff / 40 : 93.2 - (eff - 120) / 10;
  return r - 2.5 * Math.min(nonNeg(lossPct), 100);
}

// mosFromR maps R to a mean opinion score between 1 and 4.5.
export function mosFromR(r) {
  if (!Number.isFinite(r) || r < 0) return 1;
  if (r > 100) return 4.5;
  return Math.max(1, 1 + 0.035 * r + 7e-6 * r * (r - 60) * (100 - r));
}

export function mosFromNetwork(latencyMs, jitterMs, lossPct) {
  return mosFromR(rFactor(latencyMs, jitterMs, lossPct));
}

// qualityLevel turns a MOS into the 0–5 scale of NeCallKit's network
// quality (5 best, 0 unknown).
export function qualityLevel(mos) {
  if (!mos) return 0;
  if (mos >= 4.2) return 5;
  if (mos >= 4.0) return 4;
  if (mos >= 3.6) return 3;
  if (mos >= 3.1) return 2;
  return 1;
}
