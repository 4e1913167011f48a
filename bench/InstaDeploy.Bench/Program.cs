using System.Diagnostics;
using InstaDeploy.Bench;
using InstaDeploy.Bench.Scenarios;

// Usage: InstaDeploy.Bench --scale small|full --control-plane <dll> --agent <dll> --compose <file> --out <dir>
//        [--only dispatch,throughput,output,fleet,storm,agent,deploy,rollout,console,history,cluster,cluster-idle] [--history-sizes 10000,1000000|none]
//        [--history-backlog N] [--history-load-seconds N]
//        [--sync full|normal] [--baseline-control-plane <dll>] [--cluster-idle N]
//        InstaDeploy.Bench idle-worker --servers <ip:port,...> --prefix <id prefix> --first <i> --count <n> --dials <n>
//        (a share of a large idle fleet, started by the cluster scenario itself: IdleFleetWorkers)
//        InstaDeploy.Bench floor-server   (the floors' bare server, started by the scenarios themselves: Floors/FloorServer)
//        InstaDeploy.Bench bare-host      (the agent memory's floor, started by the real-agent scenario: Floors/BareHost)
var options = new Dictionary<string, string>(StringComparer.Ordinal);
var worker = args.Length > 0 && args[0] == "idle-worker";
for (var i = args.Length > 0 && !args[0].StartsWith('-') ? 1 : 0; i + 1 < args.Length; i += 2) options[args[i].TrimStart('-')] = args[i + 1];
if (worker) return await IdleFleetWorkers.RunWorkerAsync(options);
if (args.Length > 0 && args[0] == "floor-server") return await InstaDeploy.Bench.Floors.FloorServer.RunAsync(options);
if (args.Length > 0 && args[0] == "bare-host") return await InstaDeploy.Bench.Floors.BareHost.RunAsync();
string Required(string name) => options.TryGetValue(name, out var value) ? value
    : throw new ArgumentException($"--{name} is required (see bench/run.sh, which passes every option)");

var settings = new BenchSettings
{
    Scale = options.GetValueOrDefault("scale", "small") == "full" ? Scale.Full : Scale.Small,
    OutDir = Path.GetFullPath(Required("out")),
    ControlPlaneDll = Path.GetFullPath(Required("control-plane")),
    AgentDll = Path.GetFullPath(Required("agent")),
    BaselineControlPlaneDll = options.TryGetValue("baseline-control-plane", out var baseline) ? Path.GetFullPath(baseline) : null,
    ComposeFile = Path.GetFullPath(Required("compose")),
    DbSynchronous = options.GetValueOrDefault("sync", "full").ToUpperInvariant(),
    ClusterIdleAgents = int.Parse(options.GetValueOrDefault("cluster-idle", "10000"), System.Globalization.CultureInfo.InvariantCulture),
    Scenarios = options.TryGetValue("only", out var only) ? only.Split(',', StringSplitOptions.TrimEntries).ToHashSet() : new HashSet<string>(),
    HistorySizes = options.TryGetValue("history-sizes", out var sizes)
        ? [.. sizes.Split(',', StringSplitOptions.RemoveEmptyEntries).Where(v => v != "none").Select(v => long.Parse(v, System.Globalization.CultureInfo.InvariantCulture))]
        : null,
    HistoryBacklog = options.TryGetValue("history-backlog", out var backlog) ? long.Parse(backlog, System.Globalization.CultureInfo.InvariantCulture) : null,
    HistoryLoadSeconds = options.TryGetValue("history-load-seconds", out var loadSeconds) ? int.Parse(loadSeconds, System.Globalization.CultureInfo.InvariantCulture) : null,
};
Directory.CreateDirectory(settings.OutDir);

var machine = Machine.Describe();
machine["control plane INSTADEPLOY_DB_SYNCHRONOUS"] = settings.DbSynchronous;
Console.WriteLine($"InstaDeploy bench, scale {settings.Scale.Name}; results in {settings.OutDir}");
foreach (var (key, value) in machine) Console.WriteLine($"  {key}: {value}");

var results = new Results();
var clock = Stopwatch.StartNew();
if (settings.Runs("dispatch") || settings.Runs("throughput")) await DispatchScenarios.RunAsync(settings, results);
if (settings.Runs("output")) await LiveOutputScenarios.RunAsync(settings, results);
if (settings.Runs("fleet") || settings.Runs("storm")) await FleetScenarios.RunAsync(settings, results);
if (settings.Runs("agent") || settings.Runs("deploy")) await RealAgentScenarios.RunAsync(settings, results);
if (settings.Runs("rollout")) await RolloutScenarios.RunAsync(settings, results);
if (settings.Runs("console")) await ConsoleScenarios.RunAsync(settings, results);
if (settings.Runs("history")) await HistoryScenarios.RunAsync(settings, results);
if (settings.Runs("cluster")) await ClusterScenarios.RunAsync(settings, results);
else if (settings.Scenarios.Contains("cluster-idle")) await ClusterScenarios.RunIdleOnlyAsync(settings, results);
machine["load average at the end (1/5/15 min)"] = Machine.LoadAverage();
machine["bench duration"] = $"{clock.Elapsed.TotalSeconds:0} s";

var title = $"InstaDeploy benchmark results ({settings.Scale.Name} scale, synchronous={settings.DbSynchronous}, {DateTime.UtcNow:yyyy-MM-dd HH:mm} UTC)";
await File.WriteAllTextAsync(Path.Combine(settings.OutDir, $"results-{settings.Scale.Name}-{settings.DbSynchronous.ToLowerInvariant()}.md"), results.ToMarkdown(title, machine));
await File.WriteAllTextAsync(Path.Combine(settings.OutDir, $"results-{settings.Scale.Name}-{settings.DbSynchronous.ToLowerInvariant()}.json"), results.ToJson(machine));
Console.WriteLine();
Console.WriteLine(results.ToMarkdown(title, machine));
return 0;
