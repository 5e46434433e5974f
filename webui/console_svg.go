package webui

import (
	"fmt"
	"html"
	"math"
	"strings"

	"heshen/engine"
)

// Charts are drawn here as SVG (no chart library, nothing fetched): the
// console inlines them, so <title> elements give hover values.

// chartPalette holds the series colours, seven characters each.
const chartPalette = "#1f6feb#d9480f#2b8a3e#9c36b5#e8590c#0b7285#c2255c#5c940d"

func chartColor(i int) string { i %= len(chartPalette) / 7; return chartPalette[i*7 : i*7+7] }

const (
	chartW, chartH                 = 760, 260
	padL, padR, padT, padB         = 56, 16, 16, 56
	maxLegend                      = 8
	chartFont                      = `font-family="system-ui,sans-serif" font-size="11"`
	chartEmptyZH, chartEmptyEN     = "所选时间范围内没有数据", "No data in this range"
	chartSeriesOtherZH, chartOther = "其他", "other"
)

// seriesName translates the analytics series keys.
func seriesName(key string, en bool) string {
	names := map[string][2]string{
		"completed": {"认证完成次数", "completed"},
		"passed":    {"认证通过次数", "passed"},
		"pass_rate": {"认证通过率", "pass rate"},
	}
	n, ok := names[key]
	if !ok {
		return key
	}
	if en {
		return n[1]
	}
	return n[0]
}

// niceMax rounds v up to 1, 2 or 5 times a power of ten.
func niceMax(v float64) float64 {
	if v <= 0 {
		return 1
	}
	p := math.Pow(10, math.Floor(math.Log10(v)))
	for _, m := range []float64{1, 2, 5, 10} {
		if v <= m*p {
			return m * p
		}
	}
	return 10 * p
}

// lineChart draws one line per series over days. With tenths set the
// values are tenths of a percent and the axis reads 0–100 %.
func lineChart(days []string, series []engine.Series, tenths bool, lang string) string {
	en := strings.HasPrefix(lang, "en")
	// Past maxLegend series, the rest are summed into "other".
	if len(series) > maxLegend {
		other := engine.Series{Key: chartSeriesOtherZH, Values: make([]int, len(days))}
		if en {
			other.Key = chartOther
		}
		for _, s := range series[maxLegend-1:] {
			for i, v := range s.Values {
				other.Values[i] += v
			}
			other.Total += s.Total
		}
		series = append(append([]engine.Series(nil), series[:maxLegend-1]...), other)
	}
	var b strings.Builder
	fmt.Fprintf(&b, `<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 %d %d" width="100%%" role="img" class="chart" %s>`, chartW, chartH, chartFont)
	maxV := 0.0
	for _, s := range series {
		for _, v := range s.Values {
			maxV = max(maxV, float64(v))
		}
	}
	if tenths {
		maxV = 1000
	}
	top := niceMax(maxV)
	if !tenths {
		top = max(top, 4) // whole numbers on the axis
	}
	plotW, plotH := float64(chartW-padL-padR), float64(chartH-padT-padB)
	x := func(i int) float64 {
		if len(days) <= 1 {
			return float64(padL) + plotW/2
		}
		return float64(padL) + plotW*float64(i)/float64(len(days)-1)
	}
	y := func(v float64) float64 { return float64(padT) + plotH*(1-v/top) }
	label := func(v float64) string {
		if tenths {
			return fmt.Sprintf("%g%%", v/10)
		}
		return fmt.Sprintf("%g", v)
	}
	// Grid and y axis.
	for i := 0; i <= 4; i++ {
		v := top * float64(i) / 4
		fmt.Fprintf(&b, `<line x1="%d" y1="%.1f" x2="%d" y2="%.1f" stroke="#e3e6ea"/>`, padL, y(v), chartW-padR, y(v))
		fmt.Fprintf(&b, `<text x="%d" y="%.1f" text-anchor="end" fill="#57606a">%s</text>`, padL-6, y(v)+4, label(v))
	}
	// Day labels, thinned to about ten.
	step := max(1, (len(days)+9)/10)
	for i, d := range days {
		if i%step == 0 || i == len(days)-1 {
			fmt.Fprintf(&b, `<text x="%.1f" y="%d" text-anchor="middle" fill="#57606a">%s</text>`, x(i), chartH-padB+16, html.EscapeString(d[min(5, len(d)):]))
		}
	}
	empty := true
	for _, s := range series {
		if s.Total > 0 || tenths {
			empty = false
		}
	}
	if len(series) == 0 || empty {
		msg := chartEmptyZH
		if en {
			msg = chartEmptyEN
		}
		fmt.Fprintf(&b, `<text x="%d" y="%d" text-anchor="middle" fill="#8c959f" font-size="14">%s</text>`, chartW/2, chartH/2, msg)
	}
	for si, s := range series {
		col := chartColor(si)
		var pts []string
		for i, v := range s.Values {
			pts = append(pts, fmt.Sprintf("%.1f,%.1f", x(i), y(float64(v))))
		}
		if len(pts) > 1 {
			fmt.Fprintf(&b, `<polyline fill="none" stroke="%s" stroke-width="2" points="%s"/>`, col, strings.Join(pts, " "))
		}
		for i, v := range s.Values {
			if len(days) > 45 && v == 0 {
				continue
			}
			fmt.Fprintf(&b, `<circle cx="%.1f" cy="%.1f" r="3" fill="%s"><title>%s %s: %s</title></circle>`,
				x(i), y(float64(v)), col, html.EscapeString(days[i]), html.EscapeString(s.Key), label(float64(v)))
		}
		// Legend under the axis.
		lx := padL + (si%4)*170
		ly := chartH - padB + 32 + (si/4)*14
		fmt.Fprintf(&b, `<rect x="%d" y="%d" width="10" height="10" fill="%s"/>`, lx, ly-9, col)
		key := seriesName(s.Key, en)
		if key == "" {
			key = "-"
		}
		if len([]rune(key)) > 22 {
			key = string([]rune(key)[:21]) + "…"
		}
		legend := html.EscapeString(key)
		if !tenths {
			legend += fmt.Sprintf(" (%d)", s.Total)
		}
		fmt.Fprintf(&b, `<text x="%d" y="%d" fill="#24292f">%s</text>`, lx+14, ly, legend)
	}
	b.WriteString(`</svg>`)
	return b.String()
}
