using System.Text;
using FsCheck;
using FsCheck.Fluent;
using InstaDeploy.Compose;
using InstaDeploy.Contracts;

namespace InstaDeploy.ControlPlane.Tests.Fuzzing;

/// <summary>
/// Property-based fuzzing of what parses untrusted input: the wire-message parser (what any agent, or anyone holding
/// a token, can send) and the compose check and policy (what any API caller can send). For random input and for
/// valid samples with random damage, each either gives an answer or its one documented error; nothing else escapes.
/// </summary>
public sealed class ParserFuzzTests
{
    private const int Cases = 20_000;

    private static readonly string[] WireSamples =
    [
        """{"job_id":"job-1","status":"COMPLETED","logs":"done\n","error":"","result":{"containers":[{"name":"a","ports":["1:2"]}]}}""",
        """{"job_id":"job-2","status":"RUNNING","logs":"Creating x ... \n"}""",
        """{"type":"AGENT_PLUGINS","plugins":[{"name":"P","version":"1.0.0","command_types":["A","B"]}]}""",
        """{"type":"AGENT_STATE","running":["job-1"],"results":["job-2"]}""",
        """{"id":"job-3","type":"DEPLOY_COMPOSE","payload":{"project_name":"app","compose_file_base64":"c2VydmljZXM6"},"traceparent":"00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01","timeout_seconds":600}""",
    ];

    private static readonly string[] ComposeSamples =
    [
        "services:\n  web:\n    image: local/busybox:1\n    ports:\n      - \"127.0.0.1:18080:8080\"\n    volumes:\n      - /srv/apps/x:/x\n      - type: bind\n        source: /etc\n        target: /e\n",
        "x-a: &a [1, 2, {b: *a}]\nservices:\n  web: {image: x, privileged: true, network_mode: host, environment: *a}\nvolumes:\n  v: {driver_opts: {device: /etc}}\n",
        "services:\n  web:\n    image: \"x:${TAG:-1}\"\n    command: [\"sh\", \"-c\", \"echo 'hi' && sleep 1\"]\n    healthcheck: {test: [\"CMD\", \"true\"]}\n",
    ];

    /// <summary>Random bytes, random text, and samples damaged by flips, cuts, duplications and insertions.</summary>
    private static Arbitrary<byte[]> Inputs(string[] samples)
    {
        var sampleBytes = samples.Select(Encoding.UTF8.GetBytes).ToArray();
        var damaged =
            from sample in Gen.Elements(sampleBytes)
            from count in Gen.Choose(1, 8)
            from edits in Gen.Choose(0, 3).Zip(Gen.Choose(0, 10_000)).Zip(Gen.Choose(0, 255)).ListOf(count)
            select Damage(sample, edits);
        var randomText = ArbMap.Default.GeneratorFor<string>().Select(s => Encoding.UTF8.GetBytes(s ?? ""));
        var randomBytes = ArbMap.Default.GeneratorFor<byte[]>();
        return Gen.Frequency((6, damaged), (2, randomText), (2, randomBytes)).ToArbitrary();
    }

    private static readonly byte[] Structure = "{}[]\":,\\\n&*!|>-#'"u8.ToArray();

    private static byte[] Damage(byte[] sample, IEnumerable<((int Kind, int Position) Edit, int Value)> edits)
    {
        var bytes = sample.ToList();
        foreach (var ((kind, position), value) in edits)
        {
            if (bytes.Count == 0) break;
            var at = position % bytes.Count;
            switch (kind)
            {
                case 0: bytes[at] = (byte)value; break;                                      // flip
                case 1: bytes.RemoveRange(at, bytes.Count - at); break;                       // cut
                case 2: bytes.InsertRange(at, bytes.GetRange(at, Math.Min(16, bytes.Count - at))); break; // duplicate
                default: bytes.Insert(at, Structure[value % Structure.Length]); break; // insert structure
            }
        }
        return [.. bytes];
    }

    private static readonly PolicySettings Policy = PolicySettings.FromLists("/srv/apps", "NET_ADMIN", "B", "C");

    private static Config Config => Config.QuickThrowOnFailure.WithMaxTest(Cases).WithMaxRejected(Cases);

    [Fact]
    public void TheAgentMessageParserAnswersOrRefusesEverything() =>
        Check.One(Config, Prop.ForAll(Inputs(WireSamples), bytes =>
        {
            try
            {
                var message = WireJson.ParseAgentMessage(bytes);
                return message is AgentResponse { JobId.Length: > 0, Status.Length: > 0 } or AgentPluginsMessage or AgentStateMessage;
            }
            catch (WireFormatException)
            {
                return true;
            }
        }));

    [Fact]
    public void TheCommandParserAnswersOrRefusesEverything() =>
        Check.One(Config, Prop.ForAll(Inputs(WireSamples), bytes =>
        {
            try
            {
                var command = WireJson.ParseCommand(bytes);
                return command.Id.Length > 0 && command.Type.Length > 0;
            }
            catch (WireFormatException)
            {
                return true;
            }
        }));

    [Fact]
    public void TheComposeCheckAndPolicyNeverThrowOnAcceptedInput() =>
        Check.One(Config, Prop.ForAll(Inputs(ComposeSamples), bytes =>
        {
            var yaml = Encoding.UTF8.GetString(bytes);
            _ = ComposeValidator.Validate(yaml); // returns a reason; never throws
            _ = ComposePolicy.Check(yaml, Policy, ComposeVariables.ControlPlane([KeyValuePair.Create("A", "/srv/apps")])); // answers on anything; never throws
            _ = ComposePolicy.CheckResolved(yaml, Policy, "/srv/projects/app");
            return true;
        }));
}
