package refbench;

import java.util.HashMap;
import java.util.Map;
import java.util.concurrent.atomic.LongAdder;
import org.apache.storm.Config;
import org.apache.storm.LocalCluster;
import org.apache.storm.spout.SpoutOutputCollector;
import org.apache.storm.task.TopologyContext;
import org.apache.storm.topology.BasicOutputCollector;
import org.apache.storm.topology.OutputFieldsDeclarer;
import org.apache.storm.topology.TopologyBuilder;
import org.apache.storm.topology.base.BaseBasicBolt;
import org.apache.storm.topology.base.BaseRichSpout;
import org.apache.storm.tuple.Fields;
import org.apache.storm.tuple.Tuple;
import org.apache.storm.tuple.Values;

/** Storm word count: spout (round-robin sentences) -> split (shuffle, p=2) -> count (fields on word, p=2, HashMap, emits (word,count) unsubscribed). */
public final class StormWc {
  static volatile boolean ACKED;
  public static final LongAdder FAILS = new LongAdder();

  public static final class Spout extends BaseRichSpout {
    private transient SpoutOutputCollector out;
    private transient String[] corpus;
    private int i;
    private long id;
    @Override public void open(Map<String, Object> conf, TopologyContext ctx, SpoutOutputCollector out) {
      this.out = out;
      try { corpus = Meter.loadCorpus(); } catch (Exception e) { throw new RuntimeException(e); }
      i = (ctx.getThisTaskIndex() * 5003) % corpus.length;
    }
    @Override public void nextTuple() {
      String s = corpus[i];
      if (++i == corpus.length) i = 0;
      if (ACKED) out.emit(new Values(s), ++id); else out.emit(new Values(s));
    }
    @Override public void ack(Object msgId) { Meter.COUNT.increment(); }
    @Override public void fail(Object msgId) { FAILS.increment(); }
    @Override public void declareOutputFields(OutputFieldsDeclarer d) { d.declare(new Fields("sentence")); }
  }

  public static final class Split extends BaseBasicBolt {
    @Override public void execute(Tuple t, BasicOutputCollector out) {
      for (String w : t.getString(0).split(" ")) out.emit(new Values(w));
      if (!ACKED) Meter.COUNT.increment();
    }
    @Override public void declareOutputFields(OutputFieldsDeclarer d) { d.declare(new Fields("word")); }
  }

  public static final class Count extends BaseBasicBolt {
    private final HashMap<String, Integer> counts = new HashMap<>();
    @Override public void execute(Tuple t, BasicOutputCollector out) {
      String w = t.getString(0);
      int n = counts.merge(w, 1, Integer::sum);
      out.emit(new Values(w, n));
    }
    @Override public void declareOutputFields(OutputFieldsDeclarer d) { d.declare(new Fields("word", "count")); }
  }

  public static void main(String[] args) throws Exception {
    ACKED = args[0].equals("acked");
    int spoutPar = args.length > 1 ? Integer.parseInt(args[1]) : 1;
    int ackers = args.length > 2 ? Integer.parseInt(args[2]) : (ACKED ? 1 : 0);
    double warm = args.length > 3 ? Double.parseDouble(args[3]) : 10, meas = args.length > 4 ? Double.parseDouble(args[4]) : 20;
    int workers = args.length > 5 ? Integer.parseInt(args[5]) : 1;
    TopologyBuilder b = new TopologyBuilder();
    b.setSpout("spout", new Spout(), spoutPar);
    b.setBolt("split", new Split(), 2).shuffleGrouping("spout");
    b.setBolt("count", new Count(), 2).fieldsGrouping("split", new Fields("word"));
    Config conf = new Config();
    conf.setNumWorkers(workers);
    conf.setNumAckers(ackers);
    if (ACKED) conf.setMaxSpoutPending(Integer.getInteger("maxPending", 1000));
    conf.setMessageTimeoutSecs(30);
    LocalCluster cluster = new LocalCluster();
    cluster.submitTopology("wc", conf, b.createTopology());
    String label = "storm-" + args[0] + "-spouts" + spoutPar + "-ackers" + ackers + "-workers" + workers;
    Meter.measure(label, warm, meas);
    System.out.println("fails=" + FAILS.sum());
    System.exit(0);
  }
}
