using System.Text;
using Aspire.Hosting;
using Aspire.Hosting.ApplicationModel;
using Microsoft.Extensions.DependencyInjection;

namespace InstaDeploy.AppHost.Tests;

/// <summary>Waits for an AppHost's resources to be healthy within one budget, and when one is not, fails with what a
/// person would look at first: every resource's state and the last lines of the late one's own log.</summary>
public static class ResourceStartup
{
    private const int LogLinesShown = 40;

    public static async Task WaitHealthyAsync(DistributedApplication app, IReadOnlyList<string> resources, TimeSpan budget)
    {
        using var deadline = new CancellationTokenSource(budget);
        foreach (var resource in resources)
        {
            try
            {
                // StopOnResourceUnavailable: a resource that exits or fails to start ends the wait at once, not at the deadline.
                await app.ResourceNotifications.WaitForResourceHealthyAsync(resource, WaitBehavior.StopOnResourceUnavailable, deadline.Token);
            }
            catch (Exception e) when (e is OperationCanceledException or DistributedApplicationException)
            {
                throw new TimeoutException(await DescribeAsync(app, resource, resources, budget, e), e);
            }
        }
    }

    private static async Task<string> DescribeAsync(DistributedApplication app, string late, IReadOnlyList<string> resources, TimeSpan budget, Exception cause)
    {
        var text = new StringBuilder();
        text.Append(System.Globalization.CultureInfo.InvariantCulture, $"'{late}' was not healthy within {budget.TotalMinutes} min ({cause.GetType().Name}: {cause.Message}).\nResources:\n");
        foreach (var resource in resources)
        {
            var state = app.ResourceNotifications.TryGetCurrentState(resource, out var current)
                ? $"{current.Snapshot.State?.Text ?? "?"}, health {current.Snapshot.HealthStatus?.ToString() ?? "unknown"}, exit code {current.Snapshot.ExitCode?.ToString(System.Globalization.CultureInfo.InvariantCulture) ?? "none"}"
                : "no state reported";
            text.Append(System.Globalization.CultureInfo.InvariantCulture, $"  {resource}: {state}\n");
        }
        text.Append(System.Globalization.CultureInfo.InvariantCulture, $"Last lines of {late}'s log:\n");
        using var reading = new CancellationTokenSource(TimeSpan.FromSeconds(5));
        var lines = new List<string>();
        try
        {
            await foreach (var batch in app.Services.GetRequiredService<ResourceLoggerService>().GetAllAsync(late).WithCancellation(reading.Token))
                lines.AddRange(batch.Select(line => line.Content));
        }
        catch (OperationCanceledException) { lines.Add("(log not readable within 5 s)"); }
        foreach (var line in lines.TakeLast(LogLinesShown)) text.Append("  ").Append(line).Append('\n');
        return text.ToString();
    }
}
