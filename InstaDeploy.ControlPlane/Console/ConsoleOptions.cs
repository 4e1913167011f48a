using System.ComponentModel.DataAnnotations;

namespace InstaDeploy.ControlPlane.WebConsole;

/// <summary>The web console's settings, read like every other setting (environment variables by these names).</summary>
public sealed class ConsoleOptions
{
    /// <summary>Whether the control plane serves the web console at / (the REST API is served either way).</summary>
    [ConfigurationKeyName("INSTADEPLOY_CONSOLE")]
    public bool Enabled { get; set; } = true;

    /// <summary>How long a console session lasts after sign-in (never past its API key's expiry).</summary>
    [ConfigurationKeyName("INSTADEPLOY_CONSOLE_SESSION_MINUTES")]
    [Range(5, 7 * 24 * 60, ErrorMessage = "INSTADEPLOY_CONSOLE_SESSION_MINUTES must be between 5 and 10080 (7 days).")]
    public int SessionMinutes { get; set; } = 8 * 60;

    /// <summary>Sign-in attempts per minute from one client address (bursts of as many); then the form refuses with 429.</summary>
    [ConfigurationKeyName("INSTADEPLOY_CONSOLE_SIGN_IN_PER_MINUTE")]
    [Range(1, 10_000, ErrorMessage = "INSTADEPLOY_CONSOLE_SIGN_IN_PER_MINUTE must be between 1 and 10000.")]
    public int SignInPerMinute { get; set; } = 10;
}
