using System.Text;
using System.Text.Json;
using InstaDeploy.Contracts;

namespace InstaDeploy.ControlPlane.Tests.Contracts;

public sealed class WireJsonTests
{
    [Fact]
    public void ACommandIsSpelledAsTheSeedReadmeShowsIt()
    {
        using var payload = JsonDocument.Parse("""{"project_name":"my-app","compose_file_base64":"dmVyc2lvbjogJzMuOCc="}""");
        var json = Encoding.UTF8.GetString(WireJson.Serialize(new AgentCommand { Id = "job-123", Type = CommandTypes.DeployCompose, Payload = payload.RootElement }));
        Assert.Equal("""{"id":"job-123","type":"DEPLOY_COMPOSE","payload":{"project_name":"my-app","compose_file_base64":"dmVyc2lvbjogJzMuOCc="}}""", json);
    }

    [Fact]
    public void TheSeedReadmesResponseParses()
    {
        var response = WireJson.ParseResponse("""{"job_id": "job-123", "status": "COMPLETED", "logs": "Deployment successful", "error": ""}"""u8);
        Assert.Equal(("job-123", "COMPLETED", "Deployment successful", ""), (response.JobId, response.Status, response.Logs, response.Error));
        Assert.Null(response.Result);
    }

    [Fact]
    public void AResponseWithExtraFieldsAndNoLogsParses()
    {
        var response = WireJson.ParseResponse("""{"job_id":"j","status":"FAILED","error":"boom","extra":{"a":1},"result":{"x":2}}"""u8);
        Assert.Equal("", response.Logs);
        Assert.Equal(2, response.Result!.Value.GetProperty("x").GetInt32());
    }

    [Theory]
    [InlineData("")]
    [InlineData("not json")]
    [InlineData("[]")]
    [InlineData("null")]
    [InlineData("""{"status":"COMPLETED"}""")]
    [InlineData("""{"job_id":"j"}""")]
    [InlineData("""{"job_id":5,"status":"COMPLETED"}""")]
    [InlineData("""{"job_id":"","status":"COMPLETED"}""")]
    public void AnythingThatIsNotAResponseIsAWireFormatError(string text) =>
        Assert.Throws<WireFormatException>(() => WireJson.ParseResponse(Encoding.UTF8.GetBytes(text)));

    [Fact]
    public void DeepNestingInAResponseIsAWireFormatError()
    {
        var text = """{"job_id":"j","status":"COMPLETED","result":""" + new string('[', 1000) + new string(']', 1000) + "}";
        Assert.Throws<WireFormatException>(() => WireJson.ParseResponse(Encoding.UTF8.GetBytes(text)));
    }

    [Theory]
    [InlineData("my-app", true)]
    [InlineData("My_App-2", true)]
    [InlineData("a", true)]
    [InlineData("", false)]
    [InlineData("..", false)]
    [InlineData("../etc", false)]
    [InlineData("/etc", false)]
    [InlineData("a/b", false)]
    [InlineData("a b", false)]
    [InlineData("a\0b", false)]
    [InlineData("app\n", false)]
    [InlineData("ａｐｐ", false)]
    [InlineData("%2e%2e", false)]
    public void ProjectNamesFollowTheOneRule(string name, bool valid) => Assert.Equal(valid, ProjectNames.IsValid(name));

    [Fact]
    public void ProjectNamesAreAtMost64Characters()
    {
        Assert.True(ProjectNames.IsValid(new string('a', 64)));
        Assert.False(ProjectNames.IsValid(new string('a', 65)));
    }
}
