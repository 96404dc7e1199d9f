package video

// BT.601 "studio swing" coefficients in 16.16 fixed point. Cameras, VP8 and
// the test pattern use limited range (black Y=16, white Y=235); Go's
// color.YCbCrToRGB assumes JPEG's full range and would wash the picture out.
const (
	fixY   = 76309  // 1.164383 = 255/219
	fixCrR = 104597 // 1.596027
	fixCbG = 25675  // 0.391762
	fixCrG = 53279  // 0.812968
	fixCbB = 132201 // 2.017232
	fixRnd = 1 << 15
)

// ycbcrToRGB converts one limited-range BT.601 sample to 8-bit RGB.
func ycbcrToRGB(y, cb, cr int) (r, g, b uint8) {
	yy := (y-16)*fixY + fixRnd
	cb -= 128
	cr -= 128
	return clamp8((yy + fixCrR*cr) >> 16), clamp8((yy - fixCbG*cb - fixCrG*cr) >> 16), clamp8((yy + fixCbB*cb) >> 16)
}

func clamp8(v int) uint8 {
	if v < 0 {
		return 0
	}
	if v > 255 {
		return 255
	}
	return uint8(v)
}

// cubeLevels are the channel values of the xterm 6×6×6 colour cube.
var cubeLevels = [6]int{0, 95, 135, 175, 215, 255}

// cubeIndex returns the cube level nearest to v (0–5).
func cubeIndex(v int) int {
	switch {
	case v < 48:
		return 0
	case v < 115:
		return 1
	}
	return min((v-35)/40, 5)
}

// palette256 maps a colour to the nearest entry of the xterm 256-colour
// palette among the cube (16–231) and the grey ramp (232–255); the 16 system
// colours are skipped because terminals theme them.
func palette256(r, g, b uint8) uint8 {
	ri, gi, bi := cubeIndex(int(r)), cubeIndex(int(g)), cubeIndex(int(b))
	cube := 16 + 36*ri + 6*gi + bi
	cr, cg, cb := cubeLevels[ri], cubeLevels[gi], cubeLevels[bi]

	avg := (int(r) + int(g) + int(b)) / 3
	gi2 := min(max((avg-3)/10, 0), 23) // greys are 8, 18, …, 238
	grey := 8 + 10*gi2
	if dist(r, g, b, cr, cg, cb) <= dist(r, g, b, grey, grey, grey) {
		return uint8(cube)
	}
	return uint8(232 + gi2)
}

func dist(r, g, b uint8, r2, g2, b2 int) int {
	dr, dg, db := int(r)-r2, int(g)-g2, int(b)-b2
	return dr*dr + dg*dg + db*db
}
