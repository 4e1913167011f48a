using Microsoft.Playwright;

namespace InstaDeploy.Console.Tests.Browser;

/// <summary>What tests check on any console page.</summary>
internal static class Pages
{
    /// <summary>Every visible form control has a label (a &lt;label&gt;, aria-label or aria-labelledby): none is only a box.</summary>
    public static async Task AssertControlsLabelledAsync(IPage page)
    {
        var unlabelled = await page.EvaluateAsync<string[]>("""
            () => [...document.querySelectorAll('input:not([type=hidden]), select, textarea, button')]
              .filter(el => el.offsetParent !== null)
              .filter(el => !(el.labels && el.labels.length) && !el.getAttribute('aria-label') && !el.getAttribute('aria-labelledby')
                            && !(el.tagName === 'BUTTON' && el.textContent.trim().length))
              .map(el => el.outerHTML.slice(0, 120))
            """);
        Assert.True(unlabelled.Length == 0, $"{page.Url}: controls without a label: {string.Join(" | ", unlabelled)}");
    }

    /// <summary>The log view's lines as (number, text), read by scrolling through the virtualized list the way a reader
    /// does, top to bottom, after letting go of Follow. Virtualize renders the rows in sight a round trip after a scroll,
    /// and may leave a row's gap for another; so each position waits until rows cover the view, and a pass that did not
    /// see <paramref name="expected"/> lines is made again (up to three), keeping what each saw.</summary>
    public static async Task<List<(long Seq, string Text)>> ReadLogAsync(IPage page, string logId, int expected)
    {
        var follow = page.Locator($"[data-log-follow=\"{logId}\"]");
        if (await follow.GetAttributeAsync("aria-pressed") == "true") await follow.ClickAsync();
        var rows = await page.EvaluateAsync<string[][]>("""
            async ([id, expected]) => {
              const log = document.getElementById(id);
              const seen = new Map();
              const pause = () => new Promise(r => setTimeout(r, 50));
              const covered = () => {
                const box = log.getBoundingClientRect(), style = getComputedStyle(log);
                const inner = box.top + log.clientTop;
                const top = inner + Math.max(0, parseFloat(style.paddingTop) - log.scrollTop) + 1;
                const bottom = Math.min(inner + log.clientHeight, inner + log.scrollHeight - log.scrollTop) - parseFloat(style.paddingBottom) - 1;
                const lines = [...log.querySelectorAll('.line[data-seq]')].map(r => r.getBoundingClientRect());
                return lines.some(r => r.top <= top && r.bottom >= top) && lines.some(r => r.top <= bottom && r.bottom >= bottom);
              };
              const settle = async () => { for (let i = 0; i < 100 && !covered(); i++) await pause(); await pause(); };
              const take = () => { for (const row of log.querySelectorAll('.line[data-seq]')) seen.set(row.dataset.seq, row.querySelector('.text').textContent); };
              for (let pass = 0; pass < 3 && seen.size < expected; pass++) {
                log.scrollTop = 0;
                await settle();
                for (let guard = 0; guard < 5000; guard++) {
                  take();
                  if (log.scrollTop + log.clientHeight >= log.scrollHeight - 2) break;
                  log.scrollTop += Math.max(Math.floor(log.clientHeight / 2), 18);
                  await settle();
                }
              }
              return [...seen.entries()];
            }
            """, new object[] { logId, expected });
        return [.. rows.Select(r => (long.Parse(r[0], System.Globalization.CultureInfo.InvariantCulture), r[1])).OrderBy(r => r.Item1)];
    }
}
