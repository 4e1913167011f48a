using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Text;
using System.Text.Json;

namespace InstaDeploy.EndToEnd.Tests.Reliability.Chaos;

/// <summary>
/// One seeded random sequence on real processes and the real engine: deploys, stops and rollbacks of a few projects,
/// interleaved with kill -9 and restarts of the control plane and the agent, SIGTERM of the agent, network cuts through
/// a proxy and steps of the agent's wall clock. Every decision comes from the seed (drawn before the step runs, never
/// from what happened), so a seed replays the same sequence of operations; the timing within it is the machine's.
/// After the sequence it waits for quiescence and checks what <see cref="ChaosChecks"/> says.
/// </summary>
internal sealed class ChaosSequence : IAsyncDisposable
{
    public const string AgentId = "chaos-agent";
    private const int ReconcileSeconds = 10;

    private enum Op { Deploy, Stop, Rollback, Pause, KillControlPlane, KillAgent, StopAgent, CutNetwork, StepClock }

    private static readonly (Op Op, int Weight)[] Weights =
    [
        (Op.Deploy, 30), (Op.Stop, 8), (Op.Rollback, 10), (Op.Pause, 8), (Op.KillControlPlane, 7),
        (Op.KillAgent, 7), (Op.StopAgent, 4), (Op.CutNetwork, 7), (Op.StepClock, 6),
    ];

    private readonly Random _random;
    private readonly Action<string> _log;
    private readonly ProcessFleet _fleet = new();
    private readonly List<ServiceProcess> _agents = [];
    private readonly List<ServiceProcess> _controlPlanes = [];
    private readonly Stopwatch _clockOfRun = Stopwatch.StartNew();
    private TcpCutProxy _proxy = null!;
    private AgentClock? _clock;
    private ServiceProcess? _agent;
    private HttpClient _api = null!;
    private ContainerCreations _creations = null!;
    private int? _agentBackAt;
    private int? _networkBackAt;

    public ChaosSequence(int seed, int steps, int index, Action<string> log)
    {
        Seed = seed;
        Steps = steps;
        _random = new Random(seed);
        _log = log;
        Projects = [.. Enumerable.Range(1, 3).Select(k => E2E.Project($"chaos{index}-{k}"))];
    }

    public int Seed { get; }

    public int Steps { get; }

    public IReadOnlyList<string> Projects { get; }

    /// <summary>Jobs the control plane accepted (202), with what they were.</summary>
    public List<(string JobId, string What, string Project)> Accepted { get; } = [];

    /// <summary>Faults injected, by kind.</summary>
    public SortedDictionary<string, int> Faults { get; } = new(StringComparer.Ordinal);

    /// <summary>Requests refused (a rollback with nothing to go back to, a stop of a project never deployed), by kind.</summary>
    public SortedDictionary<string, int> Refused { get; } = new(StringComparer.Ordinal);

    public List<string> Trace { get; } = [];

    public HttpClient Api => _api;

    public ProcessFleet Fleet => _fleet;

    public ContainerCreations Creations => _creations;

    public IReadOnlyList<ServiceProcess> AgentProcesses => _agents;

    public IReadOnlyList<ServiceProcess> ControlPlaneProcesses => _controlPlanes;

    public bool ClockSteps => _clock is not null;

    public string JournalFolder => Path.Combine(_fleet.Root, AgentId, "state", "jobs");

    private void Note(string what)
    {
        var line = $"[{_clockOfRun.Elapsed.TotalSeconds,6:0.0}s] {what}";
        Trace.Add(line);
        _log(line);
    }

    private void Count(SortedDictionary<string, int> counts, string kind) => counts[kind] = counts.GetValueOrDefault(kind) + 1;

    public async Task StartAsync()
    {
        await DockerCli.EnsureEngineAndExampleImageAsync();
        _creations = await ContainerCreations.StartAsync();
        _clock = AgentClock.TryCreate(Path.Combine(_fleet.Root, "clock"));
        _api = _fleet.CreateApiClient();
        await StartControlPlaneAsync();
        _proxy = new TcpCutProxy(_fleet.ControlPlanePort);
        StartAgent();
        await _api.WaitForAgentOnlineAsync(AgentId, TimeSpan.FromSeconds(90));
        Note($"seed {Seed}, {Steps} steps, projects {string.Join(", ", Projects)}; clock steps {(ClockSteps ? "on (libfaketime)" : "off: libfaketime is not installed (bash eng/setup-faketime.sh)")}");
    }

    private async Task StartControlPlaneAsync()
    {
        _controlPlanes.Add(await _fleet.StartControlPlaneAsync(new Dictionary<string, string>
        {
            ["INSTADEPLOY_RECONCILE_SECONDS"] = ReconcileSeconds.ToString(CultureInfo.InvariantCulture),
            // A job lost for good would surface as TIMED_OUT within the wait for quiescence, not after ten minutes.
            ["INSTADEPLOY_JOB_TIMEOUT_SECONDS"] = "150",
        }));
    }

    private void StartAgent()
    {
        var settings = new Dictionary<string, string>(_clock?.Environment ?? new Dictionary<string, string>());
        _agent = _fleet.StartAgent(AgentId, new Uri($"ws://127.0.0.1:{_proxy.Port}/ws"), settings);
        _agents.Add(_agent);
    }

    /// <summary>Runs the operations; faults still in force at the end are undone (network back, agent started).</summary>
    public async Task RunAsync()
    {
        for (var step = 0; step < Steps; step++)
        {
            // Everything this step does is drawn first, so the sequence depends on the seed alone.
            var op = Draw();
            var project = Projects[_random.Next(Projects.Count)];
            var variant = _random.Next(ChaosCompose.Variants);
            var fraction = _random.NextDouble();
            var later = _random.Next(0, 3);
            var clockMinutes = (_random.Next(2) == 0 ? -1 : 1) * _random.Next(1, 181);
            var gap = _random.Next(0, 1500);

            if (_agentBackAt is { } agentBack && step >= agentBack) BringAgentBack();
            if (_networkBackAt is { } networkBack && step >= networkBack) RestoreNetwork();
            await RunAsync(step, op, project, variant, fraction, later, clockMinutes);
            await Task.Delay(gap);
        }
        if (_networkBackAt is not null) RestoreNetwork();
        if (_agentBackAt is not null) BringAgentBack();
    }

    private Op Draw()
    {
        var total = Weights.Sum(w => w.Weight);
        var pick = _random.Next(total);
        foreach (var (op, weight) in Weights)
        {
            if (pick < weight) return op;
            pick -= weight;
        }
        throw new UnreachableException();
    }

    private async Task RunAsync(int step, Op op, string project, int variant, double fraction, int later, int clockMinutes)
    {
        switch (op)
        {
            case Op.Deploy:
                await SubmitAsync($"deploy v{variant}", project, "/deploy", new
                {
                    project_name = project,
                    agent_id = AgentId,
                    compose_file_base64 = Convert.ToBase64String(Encoding.UTF8.GetBytes(ChaosCompose.For(variant, step))),
                });
                break;
            case Op.Stop:
                await SubmitAsync("stop", project, "/stop", new { project_name = project, agent_id = AgentId });
                break;
            case Op.Rollback:
                await SubmitAsync("rollback", project, $"/deployments/{project}/rollback", new { agent_id = AgentId });
                break;
            case Op.Pause:
                Note($"pause {1 + fraction * 3:0.0} s");
                await Task.Delay(TimeSpan.FromSeconds(1 + fraction * 3));
                break;
            case Op.KillControlPlane:
                Count(Faults, "kill -9 control plane");
                var down = TimeSpan.FromSeconds(fraction * 4);
                Note($"kill -9 control plane, down {down.TotalSeconds:0.0} s");
                _controlPlanes[^1].Kill();
                await _controlPlanes[^1].WaitForExitAsync();
                await Task.Delay(down);
                await StartControlPlaneAsync();
                Note("control plane back");
                break;
            case Op.KillAgent when _agent is not null:
                Count(Faults, "kill -9 agent");
                Note($"kill -9 agent, back after {later} more step(s)");
                _agent.Kill();
                await _agent.WaitForExitAsync();
                _agent = null;
                _agentBackAt = step + 1 + later;
                break;
            case Op.StopAgent when _agent is not null:
                Count(Faults, "SIGTERM agent");
                Note($"SIGTERM agent, back after {later} more step(s)");
                _agent.Terminate();
                // It drains (up to 25 s for running jobs), then exits by itself.
                if (!await _agent.WaitForExitAsync(TimeSpan.FromSeconds(60)))
                {
                    Note("the agent did not exit within 60 s of SIGTERM; killed");
                    Count(Faults, "agent hung on SIGTERM (killed)");
                    _agent.Kill();
                    await _agent.WaitForExitAsync();
                }
                _agent = null;
                _agentBackAt = step + 1 + later;
                break;
            case Op.KillAgent or Op.StopAgent:
                Note($"{op}: the agent is down already");
                break;
            case Op.CutNetwork when _networkBackAt is null:
                Count(Faults, "network cut");
                Note($"network cut, back after {later + 1} step(s)");
                _proxy.Cut();
                _networkBackAt = step + 1 + later;
                break;
            case Op.CutNetwork:
                Note("network cut: cut already");
                break;
            case Op.StepClock when _clock is not null:
                Count(Faults, "agent clock step");
                // Kept within three hours of the real time either way; a step past it goes the other way.
                var stepBy = TimeSpan.FromMinutes(clockMinutes);
                if ((_clock.Offset + stepBy).Duration() > TimeSpan.FromHours(3)) stepBy = -stepBy;
                _clock.Step(stepBy);
                Note($"agent clock stepped {stepBy.TotalMinutes:+0;-0} min (now {_clock.Offset.TotalMinutes:+0;-0} min off)");
                break;
            case Op.StepClock:
                Note("agent clock step: not available (no libfaketime)");
                break;
        }
    }

    private async Task SubmitAsync(string what, string project, string path, object body)
    {
        using var response = await _api.PostJsonAsync(path, body);
        var answer = await response.Content.ReadAsStringAsync();
        if (response.StatusCode == HttpStatusCode.Accepted)
        {
            var jobId = JsonDocument.Parse(answer).RootElement.GetProperty("job_id").GetString()!;
            Accepted.Add((jobId, what, project));
            Note($"{what} {project}: {jobId}");
            return;
        }
        // Refusals the sequence can cause (nothing to roll back to, a stop of a project never deployed) are answers too;
        // anything else (a 5xx, a 400 for a request the test built right) is a fault of the control plane.
        if (response.StatusCode is HttpStatusCode.NotFound or HttpStatusCode.Conflict)
        {
            Count(Refused, $"{what.Split(' ')[0]} {(int)response.StatusCode}");
            Note($"{what} {project}: {(int)response.StatusCode} {Detail(answer)}");
            return;
        }
        throw new InvalidOperationException($"{what} {project}: unexpected {(int)response.StatusCode}: {answer}");
    }

    private static string Detail(string problem)
    {
        try
        {
            return JsonDocument.Parse(problem).RootElement.TryGetProperty("detail", out var detail) ? detail.GetString() ?? "" : problem;
        }
        catch (JsonException)
        {
            return problem;
        }
    }

    private void BringAgentBack()
    {
        _agentBackAt = null;
        if (_agent is not null) return;
        StartAgent();
        Note("agent started again");
    }

    private void RestoreNetwork()
    {
        _networkBackAt = null;
        _proxy.Restore();
        Note("network back");
    }

    /// <summary>Everything the processes printed, for a failure's report.</summary>
    public string Outputs()
    {
        var text = new StringBuilder();
        for (var i = 0; i < _controlPlanes.Count; i++) text.Append(CultureInfo.InvariantCulture, $"===== control plane #{i + 1}\n{_controlPlanes[i].Output}\n");
        for (var i = 0; i < _agents.Count; i++) text.Append(CultureInfo.InvariantCulture, $"===== agent #{i + 1}\n{_agents[i].Output}\n");
        return text.ToString();
    }

    public async ValueTask DisposeAsync()
    {
        _api?.Dispose();
        if (_proxy is not null) await _proxy.DisposeAsync();
        await _fleet.DisposeAsync();
        if (_creations is not null) await _creations.DisposeAsync();
        foreach (var project in Projects) await FleetFixture.RemoveProjectContainersAsync(project);
    }
}
