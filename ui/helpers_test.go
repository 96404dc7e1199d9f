package ui

import (
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/charmbracelet/lipgloss"

	"github.com/softphone/softphone/call"
	"github.com/softphone/softphone/call/protocol"
)

func TestQualityOf(t *testing.T) {
	for _, tc := range []struct {
		mos  float64
		nil_ bool
		want int
		bars string
	}{
		{nil_: true, want: 0, bars: "····"},
		{mos: 0, want: 0, bars: "····"},
		{mos: 4.4, want: 1, bars: "▂▄▆█"},
		{mos: 3.8, want: 2, bars: "▂▄▆·"},
		{mos: 3.3, want: 3, bars: "▂▄··"},
		{mos: 2.8, want: 4, bars: "▂···"},
		{mos: 1.5, want: 5, bars: "····"},
	} {
		var s *call.CallStats
		if !tc.nil_ {
			s = &call.CallStats{}
			s.Mos = tc.mos
		}
		if got := qualityOf(s); got != tc.want {
			t.Errorf("qualityOf(%v) = %d, want %d", tc.mos, got, tc.want)
		}
		if got := qualityBars(tc.want); got != tc.bars {
			t.Errorf("qualityBars(%d) = %q, want %q", tc.want, got, tc.bars)
		}
	}
}

func TestMeter(t *testing.T) {
	for _, tc := range []struct {
		level float64
		muted bool
		lit   int
	}{
		{0, false, 0}, {1, false, meterCells}, {1, true, 0}, {0.001, false, 0}, {0.0316, false, 6}, {2, false, meterCells},
	} {
		got := meter(tc.level, tc.muted)
		if n := strings.Count(got, "▮"); n != tc.lit || strings.Count(got, "▯") != meterCells-tc.lit {
			t.Errorf("meter(%v, %v) = %q, want %d lit", tc.level, tc.muted, got, tc.lit)
		}
	}
}

func TestClockText(t *testing.T) {
	for _, tc := range []struct {
		d    time.Duration
		want string
	}{
		{0, "00:00"}, {-time.Second, "00:00"}, {75 * time.Second, "01:15"}, {3725 * time.Second, "1:02:05"},
	} {
		if got := call.ClockText(tc.d); got != tc.want {
			t.Errorf("ClockText(%v) = %q, want %q", tc.d, got, tc.want)
		}
	}
}

// cell, block and overlay keep every line exactly as wide as asked, CJK
// included.
func TestLayoutHelpers(t *testing.T) {
	for _, tc := range []struct {
		s string
		w int
	}{
		{"abc", 5}, {"对方已拒绝", 6}, {"对方已拒绝", 10}, {"", 3}, {"abcdef", 3},
	} {
		if got := lipgloss.Width(cell(tc.s, tc.w)); got != tc.w {
			t.Errorf("cell(%q, %d) is %d wide", tc.s, tc.w, got)
		}
	}
	bg := strings.Repeat("背景文字背景文字背景文字背景文字背景文字\n", 9)
	out := overlay(bg, "╭──╮\n│来│\n╰──╯", 40, 9)
	lines := strings.Split(out, "\n")
	if len(lines) != 9 {
		t.Fatalf("overlay gave %d lines", len(lines))
	}
	for i, l := range lines {
		if w := lipgloss.Width(l); w != 40 {
			t.Errorf("overlay line %d is %d wide: %q", i, w, l)
		}
	}
	if !strings.Contains(lines[4], "│来│") {
		t.Errorf("prompt not in the middle: %q", lines[4])
	}
}

// Every text exists in both languages, and the outcome texts are the
// seed's (call.StatusText).
func TestTexts(t *testing.T) {
	if textFor("") != &zhText || textFor("zh") != &zhText || textFor("en-US") != &enText {
		t.Error("textFor picks the wrong language")
	}
	for _, tx := range []*text{&zhText, &enText} {
		v := reflect.ValueOf(*tx)
		for i := range v.NumField() {
			f := v.Field(i)
			switch f.Kind() {
			case reflect.String:
				if f.String() == "" {
					t.Errorf("%s: text %s is empty", tx.lang, v.Type().Field(i).Name)
				}
			case reflect.Array:
				for j := range f.Len() {
					if f.Index(j).String() == "" {
						t.Errorf("%s: text %s[%d] is empty", tx.lang, v.Type().Field(i).Name, j)
					}
				}
			}
		}
	}
	if got := call.StatusText(protocol.StatusRejected, false, "zh"); got != "对方已拒绝" {
		t.Errorf("caller's rejected text %q", got)
	}
}
