using System.Diagnostics;
using System.Diagnostics.Metrics;

namespace InstaDeploy.Agent;

/// <summary>The agent's activity source and metrics (both named <c>InstaDeploy.Agent</c>).</summary>
internal sealed class AgentTelemetry
{
    public const string Name = "InstaDeploy.Agent";

    public static readonly ActivitySource ActivitySource = new(Name);

    private readonly Counter<long> _commands;
    private readonly Histogram<double> _commandDuration;
    private readonly Counter<long> _reconnects;
    private readonly Counter<long> _messages;
    private readonly Counter<long> _bytes;

    public AgentTelemetry(IMeterFactory meterFactory)
    {
        var meter = meterFactory.Create(Name);
        _commands = meter.CreateCounter<long>("instadeploy.agent.commands", "{command}", "Commands run, by command type and outcome");
        _commandDuration = meter.CreateHistogram<double>("instadeploy.agent.command.duration", "s", "Time a command took on the agent, by command type and outcome");
        _reconnects = meter.CreateCounter<long>("instadeploy.agent.reconnects", "{connection}", "Connections made after an earlier one was lost");
        _messages = meter.CreateCounter<long>("instadeploy.agent.websocket.messages", "{message}", "WebSocket messages to and from the control plane, by direction (in/out)");
        _bytes = meter.CreateCounter<long>("instadeploy.agent.websocket.bytes", "By", "WebSocket payload bytes to and from the control plane, by direction (in/out)");
    }

    public void CommandFinished(string type, string outcome, TimeSpan duration)
    {
        var tags = new TagList { { "instadeploy.command.type", type }, { "instadeploy.job.outcome", outcome } };
        _commands.Add(1, tags);
        _commandDuration.Record(duration.TotalSeconds, tags);
    }

    public void Reconnected() => _reconnects.Add(1);

    public void MessageIn(int bytes) => Message("in", bytes);

    public void MessageOut(int bytes) => Message("out", bytes);

    private void Message(string direction, int bytes)
    {
        var tag = new KeyValuePair<string, object?>("direction", direction);
        _messages.Add(1, tag);
        _bytes.Add(bytes, tag);
    }
}
