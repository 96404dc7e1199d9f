package ui

import "github.com/softphone/softphone/ui/video"

// videoRenderers returns a factory of half-block renderers for the
// terminal's colour mode (truecolor, else 256 colours); each pane gets its
// own because a renderer reuses its buffers.
func videoRenderers(getenv func(string) string) func() frameRenderer {
	mode := video.ModeFromEnv(getenv)
	return func() frameRenderer { return video.NewRenderer(mode) }
}
