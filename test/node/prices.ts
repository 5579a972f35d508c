/** The PRICES the test Worker runs with (credits per image), shared by config and tests. */
export const TEST_PRICES = {
	"nano-banana": 5,
	"nano-banana-2": { "512": 5, "1K": 7, "2K": 10, "4K": 16 },
	"nano-banana-2.1": { "1K": 4, "2K": 6, "4K": 12 },
	"nano-banana-2-lite": 3,
	"nano-banana-pro": { "1K": 14, "2K": 14, "4K": 24 },
	"nano-banana-hd": { "1K": 14, "2K": 14, "4K": 24 },
} as const;
