using System.Diagnostics;

namespace InstaDeploy.ControlPlane.Infrastructure;

/// <summary>The control plane's activity source; its spans join the trace of the REST request that caused them.</summary>
public static class Telemetry
{
    public const string Name = "InstaDeploy.ControlPlane";

    public static readonly ActivitySource ActivitySource = new(Name);
}
