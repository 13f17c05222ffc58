package test

import (
	"context"
	"flag"
	"fmt"
	"net/http"
	"os"
	"regexp"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

var updateScreenshot = flag.Bool("update-screenshot", false, "take the README's screenshot of the web page ("+screenshotPath+") on the demo fleet of serve --simulate")

// screenshotPath is the README's picture of the web page.
const screenshotPath = "testdata/web-page.png"

// The README's screenshot: the whole page on the demo fleet of `serve
// --simulate`, signed in with its token, after a machine was switched off
// (so that its timeline shows the change), an outlet was switched behind
// powerbridge's back, and with a few polls in the charts. Only with
// -update-screenshot, so that no ordinary run rewrites a tracked file.
func TestWebScreenshot(t *testing.T) {
	if !*updateScreenshot {
		t.Skip("the README's screenshot is taken only with -update-screenshot")
	}
	addr := freePort(t)
	b := startProcess(t, "http://"+addr, "serve", "--simulate", "--listen", addr)
	br := newBrowser(t)
	br.run("opening the page", 30*time.Second, chromedp.Navigate(b.URL+"/"))
	signIn(br, "", "demo-token-loopback-only")
	// The demo polls every 15 s: a few polls draw a line, and node2
	// switched off between them shows on its timeline.
	points := func(n int) string {
		return fmt.Sprintf(`(() => { const p = document.querySelector('[data-pdu="rack2"] svg.chart path'); return p && p.getAttribute("d").split("L").length >= %d })()`, n)
	}
	br.waitFor("rack2's chart has two points", 3*time.Minute, points(2))
	if code, body := b.maas(t, maasCall{method: http.MethodPost, path: "/v1/machines/node2/off", auth: bearer("demo-token-loopback-only")}); code != 200 {
		t.Fatalf("node2 off: %d %s", code, body)
	}
	// rack1/4, which feeds no machine, switched with snmpset behind
	// powerbridge's back: the page lists the change on rack1's card.
	var rack1 string
	for _, l := range b.logs.lines(`msg="simulated PDU" pdu=rack1 `) {
		if m := regexp.MustCompile(` snmp=(\S+)`).FindStringSubmatch(l); m != nil {
			rack1 = m[1]
		}
	}
	if rack1 == "" {
		t.Fatalf("the demo did not log rack1's SNMP address:\n%s", b.logs.String())
	}
	br.waitFor("rack1/4 has been read", 3*time.Minute, fmt.Sprintf(`["on", "off"].includes((document.querySelector(%q) || {}).textContent)`, outletState("rack1/4")))
	to := "1"
	if br.text(outletState("rack1/4")) == "on" {
		to = "2"
	}
	netSNMP(t, "snmpset", "private", rack1, rPDUOutletControl(4), "i", to)
	br.waitFor("rack2's chart has five points", 3*time.Minute, points(5))
	br.waitFor("the change behind powerbridge's back shows", 3*time.Minute, `!!document.querySelector('[data-unexpected="rack1/4"]')`)
	// The whole page: every PDU's card, the Eaton's and the plug's too.
	ctx, cancel := context.WithTimeout(br.ctx, 30*time.Second)
	defer cancel()
	png, err := chromedp.Run(ctx, chromedp.FullScreenshot(100))
	if err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll("../docs", 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(screenshotPath, png, 0o644); err != nil {
		t.Fatal(err)
	}
	t.Logf("wrote %s (%d bytes)", screenshotPath, len(png))
}
