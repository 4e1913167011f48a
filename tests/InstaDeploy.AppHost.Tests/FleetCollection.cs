namespace InstaDeploy.AppHost.Tests;

/// <summary>The fleets start one after the other, never side by side: each is several processes (control planes, agents,
/// PostgreSQL, HAProxy) started at once, and two such start-ups on a 2-core CI machine, beside the end-to-end suite,
/// took longer than any sensible deadline.</summary>
[CollectionDefinition(Name)]
public sealed class FleetCollection
{
    public const string Name = "fleets";
}
