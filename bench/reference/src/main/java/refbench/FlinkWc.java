package refbench;

import org.apache.flink.api.common.functions.FlatMapFunction;
import org.apache.flink.api.common.state.ValueState;
import org.apache.flink.api.common.state.ValueStateDescriptor;
import org.apache.flink.api.java.functions.KeySelector;
import org.apache.flink.api.java.tuple.Tuple2;
import org.apache.flink.configuration.Configuration;
import org.apache.flink.core.execution.JobClient;
import org.apache.flink.streaming.api.environment.StreamExecutionEnvironment;
import org.apache.flink.streaming.api.functions.KeyedProcessFunction;
import org.apache.flink.streaming.api.functions.sink.v2.DiscardingSink;
import org.apache.flink.streaming.api.functions.source.RichParallelSourceFunction;
import org.apache.flink.util.Collector;

/** Flink word count: source (round-robin sentences, counted here) -> flatMap split -> keyBy(word) -> KeyedProcessFunction with ValueState<Integer> emitting (word,count) -> DiscardingSink. */
public final class FlinkWc {
  public static final class Sentences extends RichParallelSourceFunction<String> {
    private volatile boolean running = true;
    @Override public void run(SourceContext<String> ctx) throws Exception {
      String[] corpus = Meter.loadCorpus();
      int n = corpus.length;
      int i = (getRuntimeContext().getTaskInfo().getIndexOfThisSubtask() * 5003) % n; // subtasks start at different offsets
      Object lock = ctx.getCheckpointLock();
      while (running) {
        synchronized (lock) { ctx.collect(corpus[i]); }
        Meter.COUNT.increment();
        if (++i == n) i = 0;
      }
    }
    @Override public void cancel() { running = false; }
  }

  public static final class Split implements FlatMapFunction<String, String> {
    @Override public void flatMap(String s, Collector<String> out) { for (String w : s.split(" ")) out.collect(w); }
  }

  public static final class Count extends KeyedProcessFunction<String, String, Tuple2<String, Integer>> {
    private transient ValueState<Integer> state;
    @Override public void open(Configuration c) { state = getRuntimeContext().getState(new ValueStateDescriptor<>("count", Integer.class)); }
    @Override public void processElement(String w, Context ctx, Collector<Tuple2<String, Integer>> out) throws Exception {
      Integer c = state.value();
      int n = c == null ? 1 : c + 1;
      state.update(n);
      out.collect(Tuple2.of(w, n));
    }
  }

  public static void main(String[] args) throws Exception {
    int p = Integer.parseInt(args[0]);
    boolean reuse = args.length > 1 && args[1].equals("reuse");
    double warm = args.length > 2 ? Double.parseDouble(args[2]) : 10, meas = args.length > 3 ? Double.parseDouble(args[3]) : 20;
    Configuration conf = new Configuration();
    conf.setString("state.backend.type", "hashmap");
    conf.setString("rest.bind-port", "0");
    StreamExecutionEnvironment env = StreamExecutionEnvironment.createLocalEnvironment(p, conf);
    if (reuse) env.getConfig().enableObjectReuse();
    env.addSource(new Sentences()).name("sentences")
        .flatMap(new Split()).name("split")
        .keyBy(new KeySelector<String, String>() { @Override public String getKey(String w) { return w; } })
        .process(new Count()).name("count")
        .sinkTo(new DiscardingSink<>());
    JobClient job = env.executeAsync("wc");
    Meter.measure("flink-p" + p + (reuse ? "-reuse" : "-noreuse"), warm, meas);
    System.exit(0);
  }
}
