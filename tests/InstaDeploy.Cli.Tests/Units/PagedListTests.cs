using System.Net;
using System.Text;
using InstaDeploy.Cli.Api;

namespace InstaDeploy.Cli.Tests.Units;

/// <summary>A list command reads every page of a list: the client follows X-Next-Cursor until a page has none.</summary>
public sealed class PagedListTests
{
    /// <summary>Answers a list of five in pages of two, with the control plane's headers; records what was asked.</summary>
    private sealed class PagedList : HttpMessageHandler
    {
        public List<string> Asked { get; } = [];

        protected override Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
        {
            var query = request.RequestUri!.Query;
            Asked.Add(request.RequestUri.PathAndQuery);
            var start = query.Contains("cursor=", StringComparison.Ordinal) ? int.Parse(query[(query.IndexOf("cursor=", StringComparison.Ordinal) + 7)..].Split('&')[0].Replace("at%3A", "").Replace("at:", ""), System.Globalization.CultureInfo.InvariantCulture) : 0;
            var items = Enumerable.Range(start, Math.Min(2, 5 - start)).Select(i => $$"""{"id":"a{{i}}"}""");
            var response = new HttpResponseMessage(HttpStatusCode.OK) { Content = new StringContent($"[{string.Join(',', items)}]", Encoding.UTF8, "application/json") };
            if (start + 2 < 5) response.Headers.Add("X-Next-Cursor", $"at:{start + 2}");
            return Task.FromResult(response);
        }
    }

    [Fact]
    public async Task EveryPageIsReadInOrderWithTheFilterKept()
    {
        var pages = new PagedList();
        var api = new InstaDeployApiClient(new HttpClient(pages), new Uri("http://127.0.0.1:1/base/"));
        var all = await api.GetAllAsync("/agents?selector=role%3Dweb", CancellationToken.None);
        Assert.Equal(["a0", "a1", "a2", "a3", "a4"], all.EnumerateArray().Select(a => a.GetProperty("id").GetString()));
        Assert.Equal(3, pages.Asked.Count);
        Assert.All(pages.Asked, path => Assert.StartsWith("/base/agents?selector=role%3Dweb", path));
        Assert.EndsWith("&cursor=at%3A4", pages.Asked[^1]);
    }
}
