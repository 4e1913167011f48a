using InstaDeploy.Agent.Connection;

namespace InstaDeploy.Agent.Tests.Connection;

public sealed class ReconnectBackoffTests
{
    private static ReconnectBackoff Create(Random? random = null) =>
        new(TimeSpan.FromSeconds(1), TimeSpan.FromSeconds(60), TimeSpan.FromSeconds(30), random ?? new Random(42));

    [Fact]
    public void DelaysDoubleFromAboutOneSecondUpToAMinuteWithJitter()
    {
        var backoff = Create();
        var ceilings = new[] { 1, 2, 4, 8, 16, 32, 60, 60, 60 };
        foreach (var ceiling in ceilings)
        {
            var delay = backoff.Next().TotalSeconds;
            Assert.InRange(delay, ceiling / 2.0, ceiling);
        }
    }

    [Fact]
    public void TwoAgentsDoNotRetryInLockstep()
    {
        var a = Create(new Random(1));
        var b = Create(new Random(2));
        var delaysA = Enumerable.Range(0, 8).Select(_ => a.Next()).ToList();
        var delaysB = Enumerable.Range(0, 8).Select(_ => b.Next()).ToList();
        Assert.NotEqual(delaysA, delaysB);
    }

    [Fact]
    public void AStableConnectionResetsTheBackoffAndAShortOneDoesNot()
    {
        var backoff = Create();
        for (var i = 0; i < 6; i++) backoff.Next();

        backoff.ConnectionEnded(TimeSpan.FromSeconds(5));
        Assert.True(backoff.Next() >= TimeSpan.FromSeconds(30), "a flapping connection keeps backing off");

        backoff.ConnectionEnded(TimeSpan.FromSeconds(31));
        Assert.True(backoff.Next() <= TimeSpan.FromSeconds(1));
    }
}
