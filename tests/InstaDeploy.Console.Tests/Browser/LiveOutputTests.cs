using System.Net;
using Microsoft.Playwright;

namespace InstaDeploy.Console.Tests.Browser;

[Collection(ConsoleCollection.Name)]
public sealed class LiveOutputTests(ConsoleFixture fleet)
{
    [Fact]
    public async Task AJobsOutputKeepsFollowingInABackgroundTabAndResumesAfterADroppedConnectionWithNoLineLostOrRepeated()
    {
        var project = ConsoleFixture.Project("ticker");
        try
        {
            using (var deploy = await fleet.Api.PostJsonAsync("/deploy", new
            {
                project_name = project, agent_id = ConsoleFixture.AgentId, health_wait_seconds = 0,
                compose_file_base64 = Convert.ToBase64String(System.Text.Encoding.UTF8.GetBytes(ComposeFiles.Ticker("UNSET_HERE"))),
            }))
            {
                Assert.Equal(HttpStatusCode.Accepted, deploy.StatusCode);
                var deployed = await fleet.Api.WaitForJobAsync((await deploy.ReadJsonAsync()).GetProperty("job_id").GetString()!, TimeSpan.FromSeconds(120));
                Assert.Equal("COMPLETED", deployed.GetProperty("status").GetString());
            }
            // A job that prints a line every 200 ms for 25 s: the container's ticks, followed on the agent.
            string jobId;
            using (var follow = new HttpRequestMessage(HttpMethod.Get, $"/deployments/{project}/logs?tail=0&follow=true&follow_seconds=25"))
            using (var stream = await fleet.Api.SendAsync(follow, HttpCompletionOption.ResponseHeadersRead))
                jobId = stream.Headers.GetValues("X-InstaDeploy-Job-Id").Single();

            var (context, page) = await fleet.SignInAsync();
            await using var _ = context;
            await page.GotoAsync($"/ui/jobs/{jobId}");
            var lines = page.Locator("#job-output .line[data-seq]");
            await Assertions.Expect(lines.First).ToBeVisibleAsync(new() { Timeout = 30_000 });

            // In the background: another tab in front; the first still receives lines.
            var front = await context.NewPageAsync();
            await front.GotoAsync("/ui/projects");
            await front.BringToFrontAsync();
            var before = await LastSeqAsync(page);
            await Eventually.TrueAsync(async () => await LastSeqAsync(page) >= before + 5, TimeSpan.FromSeconds(15), "lines to arrive in the background tab");

            // The connection drops for a few seconds while the job goes on printing; then the page resumes.
            fleet.Proxy.Cut();
            await Task.Delay(TimeSpan.FromSeconds(4));
            fleet.Proxy.Restore();
            await page.BringToFrontAsync();
            await Assertions.Expect(page.GetByTestId("job-status")).ToHaveTextAsync("COMPLETED", new() { Timeout = 90_000 });

            var job = await fleet.Api.GetJsonAsync($"/jobs/{jobId}");
            var expected = Testing.JobLines(job.GetProperty("logs").GetString()!);
            var shown = await Pages.ReadLogAsync(page, "job-output", expected.Count);
            var missing = Enumerable.Range(1, expected.Count).Select(n => (long)n).Except(shown.Select(l => l.Seq)).ToList();
            Assert.True(missing.Count == 0 && shown.Count == expected.Count,
                $"the page shows {shown.Count} of {expected.Count} lines; missing {string.Join(",", missing)}; page says {await page.Locator(".log-tools").First.TextContentAsync()}");
            Assert.Equal(Enumerable.Range(1, expected.Count).Select(n => (long)n), shown.Select(s => s.Seq));
            Assert.Equal(expected, shown.Select(s => s.Text));
            // The ticks themselves are consecutive: nothing the agent printed is missing from the page.
            var ticks = shown.Select(s => s.Text).Where(t => t.StartsWith("tick ", StringComparison.Ordinal)).Select(t => int.Parse(t[5..], System.Globalization.CultureInfo.InvariantCulture)).ToList();
            Assert.True(ticks.Count > 60, $"only {ticks.Count} ticks");
            Assert.Equal(Enumerable.Range(ticks[0], ticks.Count), ticks);
        }
        finally
        {
            await ConsoleFixture.RemoveProjectAsync(project);
        }
    }

    private static async Task<long> LastSeqAsync(IPage page) =>
        await page.EvaluateAsync<long>("() => Math.max(0, ...[...document.querySelectorAll('#job-output .line[data-seq]')].map(r => +r.dataset.seq))");
}

internal static class Testing
{
    public static List<string> JobLines(string logs) => [.. logs.Split('\n')[..^(logs.EndsWith('\n') ? 1 : 0)]];
}
