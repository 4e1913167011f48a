using System.Diagnostics;
using System.Diagnostics.Metrics;
using InstaDeploy.Contracts;
using InstaDeploy.ControlPlane.Jobs.Delivery;

namespace InstaDeploy.ControlPlane.Infrastructure;

/// <summary>The control plane's activity source; its spans join the trace of the REST request that caused them.</summary>
public static class Telemetry
{
    public const string Name = "InstaDeploy.ControlPlane";

    public static readonly ActivitySource ActivitySource = new(Name);
}

/// <summary>The control plane's metrics (meter <c>InstaDeploy.ControlPlane</c>).</summary>
public sealed class ControlPlaneMetrics
{
    private readonly Counter<long> _jobsDispatched;
    private readonly Counter<long> _jobsFinished;
    private readonly Histogram<double> _jobDuration;
    private readonly Histogram<double> _deployDuration;
    private readonly Counter<long> _messages;
    private readonly Counter<long> _bytes;
    private readonly Counter<long> _reconnects;

    public ControlPlaneMetrics(IMeterFactory meterFactory, IAgentLinks links)
    {
        var meter = meterFactory.Create(Telemetry.Name);
        meter.CreateObservableUpDownCounter("instadeploy.agents.connected", () => links.Count, "{agent}", "Agents connected right now");
        _jobsDispatched = meter.CreateCounter<long>("instadeploy.jobs.dispatched", "{job}", "Jobs written to an agent's socket, by command type");
        _jobsFinished = meter.CreateCounter<long>("instadeploy.jobs.finished", "{job}", "Jobs that reached a final state, by command type and outcome");
        _jobDuration = meter.CreateHistogram<double>("instadeploy.job.duration", "s", "Time from job creation to its final state, by command type and outcome");
        _deployDuration = meter.CreateHistogram<double>("instadeploy.deploy.duration", "s", "Time from DEPLOY_COMPOSE creation to its final state, by outcome");
        _messages = meter.CreateCounter<long>("instadeploy.websocket.messages", "{message}", "WebSocket messages to and from agents, by direction (in/out)");
        _bytes = meter.CreateCounter<long>("instadeploy.websocket.bytes", "By", "WebSocket payload bytes to and from agents, by direction (in/out)");
        _reconnects = meter.CreateCounter<long>("instadeploy.agents.reconnects", "{connection}", "Connections of agents that had connected before");
    }

    public void JobDispatched(string type) => _jobsDispatched.Add(1, new KeyValuePair<string, object?>(TelemetryTags.CommandType, type));

    public void JobFinished(string type, string outcome, TimeSpan duration)
    {
        var tags = new TagList { { TelemetryTags.CommandType, type }, { TelemetryTags.Outcome, outcome } };
        _jobsFinished.Add(1, tags);
        _jobDuration.Record(duration.TotalSeconds, tags);
        if (type == Contracts.CommandTypes.DeployCompose)
            _deployDuration.Record(duration.TotalSeconds, new KeyValuePair<string, object?>(TelemetryTags.Outcome, outcome));
    }

    public void MessageIn(int bytes) => Message("in", bytes);

    public void MessageOut(int bytes) => Message("out", bytes);

    public void AgentReconnected() => _reconnects.Add(1);

    private void Message(string direction, int bytes)
    {
        var tag = new KeyValuePair<string, object?>("direction", direction);
        _messages.Add(1, tag);
        _bytes.Add(bytes, tag);
    }
}
