package refbench;

import java.util.HashMap;

/** Plain Java word count: for each sentence (round-robin over the corpus, same String objects), split on ' ' and count into HashMap<String,Integer>. */
public final class Bare {
  public static void main(String[] args) throws Exception {
    String mode = args.length > 0 ? args[0] : "split";   // split | indexOf
    double warm = args.length > 1 ? Double.parseDouble(args[1]) : 10, meas = args.length > 2 ? Double.parseDouble(args[2]) : 20;
    String[] corpus = Meter.loadCorpus();
    boolean useSplit = mode.equals("split");
    HashMap<String, Integer> counts = new HashMap<>();
    long start = System.nanoTime(), warmEnd = start + (long) (warm * 1e9), measEnd = warmEnd + (long) (meas * 1e9);
    long sentences = 0, mStartCount = -1, mStartT = 0, cpu0 = 0;
    String l0 = "";
    for (;;) {
      // one pass over the corpus, then check the clock
      for (String s : corpus) {
        if (useSplit) {
          for (String w : s.split(" ")) counts.merge(w, 1, Integer::sum);
        } else {
          int from = 0, i;
          while ((i = s.indexOf(' ', from)) >= 0) { counts.merge(s.substring(from, i), 1, Integer::sum); from = i + 1; }
          counts.merge(s.substring(from), 1, Integer::sum);
        }
      }
      sentences += corpus.length;
      long now = System.nanoTime();
      if (mStartCount < 0 && now >= warmEnd) {
        mStartCount = sentences; mStartT = now; cpu0 = Meter.cpuTicks(); l0 = Meter.load();
      } else if (mStartCount >= 0 && now >= measEnd) {
        double secs = (now - mStartT) / 1e9;
        double cores = (Meter.cpuTicks() - cpu0) / 100.0 / secs;
        long sum = 0; for (int v : counts.values()) sum += v;
        System.out.printf("RESULT bare-%s sentences/s=%.0f cores=%.2f window=%.1fs loadavg_before=[%s] (checksum words=%d distinct=%d)%n",
            mode, (sentences - mStartCount) / secs, cores, secs, l0, sum, counts.size());
        return;
      }
    }
  }
}
