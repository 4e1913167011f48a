using System.Net;
using System.Threading.RateLimiting;
using Microsoft.Extensions.Options;

namespace InstaDeploy.ControlPlane.WebConsole.Auth;

/// <summary>Sign-in attempts per client address (INSTADEPLOY_CONSOLE_SIGN_IN_PER_MINUTE), on top of the throttle every
/// request without a valid key already passes: a form that checks keys must not become a fast way to guess them.</summary>
public sealed class SignInThrottle : IDisposable
{
    private readonly PartitionedRateLimiter<IPAddress> _attempts;

    public SignInThrottle(IOptions<ConsoleOptions> options)
    {
        var perMinute = options.Value.SignInPerMinute;
        _attempts = PartitionedRateLimiter.Create<IPAddress, IPAddress>(address =>
            RateLimitPartition.GetTokenBucketLimiter(address, _ => new TokenBucketRateLimiterOptions
            {
                TokenLimit = perMinute,
                TokensPerPeriod = perMinute,
                ReplenishmentPeriod = TimeSpan.FromMinutes(1),
                QueueLimit = 0,
            }));
    }

    /// <summary>Whether this address may try a key now.</summary>
    public bool TryAttempt(IPAddress? address)
    {
        using var lease = _attempts.AttemptAcquire(address ?? IPAddress.None);
        return lease.IsAcquired;
    }

    public void Dispose() => _attempts.Dispose();
}
