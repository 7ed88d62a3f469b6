// A pull's progress in words, the same on a terminal (`monet-lens pull`) and in VS Code's
// notification (Download Model…): bytes done of the total, speed, time left.
import { formatBytes, type PullProgress } from "./pull";

/** `m:ss`, `XhYYm` past an hour, `--:--` while unknown. */
export function formatDuration(seconds: number | undefined): string {
  if (seconds === undefined || !Number.isFinite(seconds)) return "--:--";
  const s = Math.max(0, seconds);
  return s >= 3600
    ? `${Math.floor(s / 3600)}h${String(Math.floor((s % 3600) / 60)).padStart(2, "0")}m`
    : `${Math.floor(s / 60)}:${String(Math.floor(s % 60)).padStart(2, "0")}`;
}

/** "1.20 GB / 2.93 GB, 35.0 MB/s, 0:49 left". */
export function progressSummary(p: PullProgress): string {
  return `${formatBytes(p.bytesDone)} / ${formatBytes(p.bytesTotal)}, ${formatBytes(p.bytesPerSecond)}/s, ${formatDuration(p.secondsLeft)} left`;
}

/** Whole percent of the bytes done (100 when there is nothing to fetch). */
export function progressPercent(p: PullProgress): number {
  return p.bytesTotal > 0 ? Math.floor((100 * p.bytesDone) / p.bytesTotal) : 100;
}
