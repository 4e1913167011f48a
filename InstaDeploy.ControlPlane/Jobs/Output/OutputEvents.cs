namespace InstaDeploy.ControlPlane.Jobs.Output;

/// <summary>What a follower of a job's output receives, in order.</summary>
public abstract record OutputEvent;

/// <summary>New lines, numbered <see cref="FirstSeq"/> onwards.</summary>
public sealed record LinesEvent(long FirstSeq, IReadOnlyList<string> Lines) : OutputEvent
{
    private byte[]? _encoded;

    /// <summary>The number of the last line.</summary>
    public long LastSeq => FirstSeq + Lines.Count - 1;

    /// <summary>The whole event as Server-Sent Events bytes, encoded once however many followers write it.</summary>
    public byte[] Encoded => _encoded ??= Sse.Encode("log", Lines, LastSeq);
}

/// <summary>The job's final output differs from what was streamed (the agent's own record won): all of it again.</summary>
public sealed record ResetEvent(string Text, long LastSeq) : OutputEvent;

/// <summary>The job ended.</summary>
public sealed record EndEvent(string Status, string Error) : OutputEvent;

/// <summary>Nothing happened for a while: a comment that keeps the stream open through proxies.</summary>
public sealed record KeepAliveEvent : OutputEvent
{
    public static KeepAliveEvent Instance { get; } = new();
}
