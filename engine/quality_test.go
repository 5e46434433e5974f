package engine

import "testing"

func box(x1, y1, x2, y2 float32) Face { return Face{Box: Rect{x1, y1, x2, y2}} }

func TestChooseFace(t *testing.T) {
	q := DefaultQuality
	big, small, centre := box(10, 10, 210, 260), box(400, 300, 460, 370), box(270, 200, 370, 320)
	tests := []struct {
		name   string
		faces  []Face
		policy FacePolicy
		want   int
		reason string
	}{
		{"none", nil, PickLargest, -1, ReasonNoFace},
		{"one", []Face{small}, PickOnly, 0, ""},
		{"only refuses two", []Face{big, small}, PickOnly, -1, ReasonSeveralFaces},
		{"largest", []Face{small, big}, PickLargest, 1, ""},
		{"largest ambiguous", []Face{big, box(300, 10, 495, 255)}, PickLargest, 0, ReasonAmbiguous},
		{"centre", []Face{big, centre}, PickCentre, 1, ""},
		{"centre ambiguous", []Face{box(220, 190, 310, 290), box(330, 190, 420, 290)}, PickCentre, 0, ReasonAmbiguous},
	}
	for _, tc := range tests {
		got, f := ChooseFace(tc.faces, 640, 480, tc.policy, q)
		reason := ""
		if f != nil {
			reason = f.Reason
		}
		if got != tc.want || reason != tc.reason {
			t.Errorf("%s: got %d %q, want %d %q", tc.name, got, reason, tc.want, tc.reason)
		}
	}
}

func TestCheckQuality(t *testing.T) {
	q := DefaultQuality
	good := Face{Box: Rect{100, 100, 220, 250}, Sharpness: 1000, Bright: 120}
	if f := CheckQuality(&good, 640, 480, true, q); len(f) != 0 {
		t.Fatalf("good face: %+v", f)
	}
	cases := map[string]Face{
		ReasonFaceTooSmall: {Box: Rect{100, 100, 130, 135}, Sharpness: 1000, Bright: 120},
		ReasonBlurred:      {Box: good.Box, Sharpness: 2, Bright: 120},
		ReasonTooDark:      {Box: good.Box, Sharpness: 1000, Bright: 20},
		ReasonTooBright:    {Box: good.Box, Sharpness: 1000, Bright: 240},
		ReasonCutOff:       {Box: Rect{-60, 100, 60, 250}, Sharpness: 1000, Bright: 120},
		ReasonPose:         {Box: good.Box, Sharpness: 1000, Bright: 120, Pose: Pose{Yaw: 60}},
	}
	for reason, f := range cases {
		got := CheckQuality(&f, 640, 480, true, q)
		if len(got) == 0 || got[0].Reason != reason || got[0].Code == "" {
			t.Errorf("%s: got %+v", reason, got)
		}
	}
}
