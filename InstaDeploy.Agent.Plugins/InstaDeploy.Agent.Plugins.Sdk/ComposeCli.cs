using System.ComponentModel;
using Microsoft.Extensions.Configuration;

namespace InstaDeploy.Agent.Plugins;

/// <summary>
/// Finds the Docker Compose command line on this host: the v2 plugin (<c>docker compose</c>) when present,
/// else the v1 program (<c>docker-compose</c>). The programs can be overridden with the settings
/// <c>DOCKER_PATH</c> and <c>DOCKER_COMPOSE_PATH</c>.
/// </summary>
public sealed class ComposeCli
{
    private readonly SemaphoreSlim _gate = new(1, 1);
    private ComposeVariant? _variant;

    /// <summary>Reads the program paths from configuration.</summary>
    public ComposeCli(IConfiguration configuration)
    {
        DockerPath = configuration["DOCKER_PATH"] is { Length: > 0 } docker ? docker : "docker";
        LegacyComposePath = configuration["DOCKER_COMPOSE_PATH"] is { Length: > 0 } compose ? compose : "docker-compose";
    }

    /// <summary>The <c>docker</c> program.</summary>
    public string DockerPath { get; }

    /// <summary>The v1 <c>docker-compose</c> program.</summary>
    public string LegacyComposePath { get; }

    /// <summary>
    /// The compose project name for an InstaDeploy project: Compose v2 accepts only lower case and a leading letter
    /// or digit, so the name is lower-cased and prefixed with <c>p</c> when it starts with '-' or '_'.
    /// </summary>
    public static string ComposeProjectName(string projectName)
    {
        var lower = projectName.ToLowerInvariant();
        return char.IsAsciiLetterOrDigit(lower[0]) ? lower : "p" + lower;
    }

    /// <summary>Finds the compose variant once (a failure is not remembered, so installing compose later works).</summary>
    /// <exception cref="InvalidOperationException">Neither variant is installed; the message says what to install.</exception>
    public async Task<ComposeVariant> GetVariantAsync(CancellationToken cancellationToken)
    {
        if (_variant is { } known) return known;
        await _gate.WaitAsync(cancellationToken);
        try
        {
            if (_variant is { } again) return again;
            _variant = await ProbeAsync(DockerPath, ["compose"], "docker compose (v2)", cancellationToken)
                ?? await ProbeAsync(LegacyComposePath, [], "docker-compose (v1)", cancellationToken)
                ?? throw new InvalidOperationException(
                    "Docker Compose is not installed on this agent: neither 'docker compose' (v2 plugin) nor 'docker-compose' (v1) answered. Install one, or set DOCKER_PATH / DOCKER_COMPOSE_PATH.");
            return _variant;
        }
        finally
        {
            _gate.Release();
        }
    }

    /// <summary>The program and leading arguments for a compose command on <paramref name="composeFile"/> (and, after it,
    /// <paramref name="overrides"/>): <c>[compose] -p &lt;project&gt; -f &lt;file&gt; [-f &lt;override&gt;…]</c>; append the
    /// subcommand and its arguments.</summary>
    public async Task<(string FileName, List<string> Arguments)> CommandAsync(string projectName, string composeFile, CancellationToken cancellationToken, params string[] overrides)
    {
        var variant = await GetVariantAsync(cancellationToken);
        var arguments = new List<string>(variant.LeadingArguments) { "-p", ComposeProjectName(projectName), "-f", composeFile };
        foreach (var file in overrides) arguments.AddRange(["-f", file]);
        return (variant.FileName, arguments);
    }

    private static async Task<ComposeVariant?> ProbeAsync(string fileName, string[] leading, string name, CancellationToken cancellationToken)
    {
        try
        {
            var result = await ProcessRunner.RunAsync(fileName, [.. leading, "version", "--short"], null, cancellationToken);
            return result.ExitCode == 0
                ? new ComposeVariant(name, fileName, leading, result.StandardOutput.Count > 0 ? result.StandardOutput[0].Trim() : "")
                : null;
        }
        catch (Win32Exception)
        {
            return null; // the program is not installed
        }
    }
}

/// <summary>The compose command line found on the host.</summary>
/// <param name="Name">"docker compose (v2)" or "docker-compose (v1)".</param>
/// <param name="FileName">The program to start.</param>
/// <param name="LeadingArguments">Arguments before the compose options (<c>compose</c> for v2).</param>
/// <param name="Version">The version it reports.</param>
public sealed record ComposeVariant(string Name, string FileName, IReadOnlyList<string> LeadingArguments, string Version);
