using System.Text.Json;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.Logging;

namespace InstaDeploy.Agent.Plugins;

/// <summary>Everything a handler gets for one command.</summary>
public sealed class CommandContext
{
    /// <summary>Creates a context; the agent does this, tests of a plugin may too.</summary>
    public CommandContext(
        string jobId,
        string commandType,
        JsonElement payload,
        string projectsDirectory,
        IConfiguration configuration,
        ILogger logger,
        Func<string, CancellationToken, ValueTask> writeOutputLine,
        CancellationToken cancellationToken)
    {
        JobId = jobId;
        CommandType = commandType;
        Payload = payload;
        ProjectsDirectory = projectsDirectory;
        Configuration = configuration;
        Logger = logger;
        _writeOutputLine = writeOutputLine;
        CancellationToken = cancellationToken;
    }

    private readonly Func<string, CancellationToken, ValueTask> _writeOutputLine;
    private readonly List<string> _secrets = [];

    /// <summary>The job id the control plane gave the command.</summary>
    public string JobId { get; }

    /// <summary>The command type being run.</summary>
    public string CommandType { get; }

    /// <summary>The command's payload, a JSON object (possibly empty).</summary>
    public JsonElement Payload { get; }

    /// <summary>The absolute path of the folder holding one sub-folder per project.</summary>
    public string ProjectsDirectory { get; }

    /// <summary>The agent's configuration (environment variables and settings files).</summary>
    public IConfiguration Configuration { get; }

    /// <summary>A logger for the agent's own log. Never log secrets.</summary>
    public ILogger Logger { get; }

    /// <summary>Cancelled when the job times out on the agent or the agent shuts down.</summary>
    public CancellationToken CancellationToken { get; }

    /// <summary>Streams one line of output to the control plane as it happens; it also becomes part of the job's logs.
    /// Every secret registered with <see cref="AddSecret"/> is replaced by <c>********</c> first.</summary>
    public ValueTask WriteOutputLineAsync(string line) => _writeOutputLine(Redact(line), CancellationToken);

    /// <summary>A value that must never leave the agent: it is redacted from the job's output, error and result.</summary>
    public void AddSecret(string value)
    {
        if (value.Length == 0) return;
        lock (_secrets)
        {
            if (_secrets.Contains(value)) return;
            _secrets.Add(value);
            _secrets.Sort((a, b) => b.Length.CompareTo(a.Length)); // longest first, so a secret inside another is not half-replaced
        }
    }

    /// <summary>The text with every registered secret replaced by <c>********</c>.</summary>
    public string Redact(string text)
    {
        lock (_secrets)
        {
            foreach (var secret in _secrets)
                text = text.Replace(secret, Redacted, StringComparison.Ordinal);
        }
        return text;
    }

    /// <summary>What a secret is replaced with.</summary>
    public const string Redacted = "********";

    /// <summary>Reads a required string property of the payload; throws <see cref="CommandPayloadException"/> naming it when absent.</summary>
    public string GetRequiredString(string propertyName)
    {
        if (Payload.ValueKind != JsonValueKind.Object)
            throw new CommandPayloadException($"payload must be a JSON object, got {Payload.ValueKind}");
        if (!Payload.TryGetProperty(propertyName, out var value))
            throw new CommandPayloadException($"payload is missing \"{propertyName}\"");
        if (value.ValueKind != JsonValueKind.String)
            throw new CommandPayloadException($"payload \"{propertyName}\" must be a string, got {value.ValueKind}");
        return value.GetString()!;
    }

    /// <summary>Reads the payload as one of the wire contract's typed payloads (<see cref="Contracts.CommandPayloadJson"/>);
    /// throws <see cref="CommandPayloadException"/> saying what is wrong with it.</summary>
    public T ReadPayload<T>(System.Text.Json.Serialization.Metadata.JsonTypeInfo<T> type)
    {
        try
        {
            return Contracts.CommandPayloadJson.Read(Payload, type);
        }
        catch (Contracts.WireFormatException e)
        {
            throw new CommandPayloadException(e.Message);
        }
    }

    /// <summary>Reads the payload's <c>project_name</c> and checks it against the project name rule.</summary>
    public string GetProjectName()
    {
        var name = GetRequiredString("project_name");
        if (!Contracts.ProjectNames.IsValid(name))
            throw new CommandPayloadException($"project_name must match {Contracts.ProjectNames.Pattern}");
        return name;
    }
}

/// <summary>The payload of a command is not what the handler needs; becomes a <c>FAILED</c> job with this message.</summary>
public sealed class CommandPayloadException(string message) : Exception(message);
