//go:build !purego

// lineEnd, the search for the first LF or cr, 16 bytes at a time with
// SSE2: one pass over a line, where bytes.IndexByte takes two for CR and
// LF, and one call a line, as cheap as the Go version's look at its first
// 16 bytes. The same pass collects the bytes' high bits, which tell
// whether the line is ASCII: its data then needs no UTF-8 validation. SSE2
// is part of every amd64 CPU, so there is no check of CPU features.
// TestLineEnd checks it against the plainest search.

#include "textflag.h"

// LINE_ENDS looks at the 16 bytes at addr: AX marks those that are LF (X1)
// or cr (X2), DX those with their high bit set. It uses X0 and X3.
#define LINE_ENDS(addr) \
	MOVOU	addr, X0; \
	PMOVMSKB	X0, DX; \
	MOVOU	X0, X3; \
	PCMPEQB	X1, X0; \
	PCMPEQB	X2, X3; \
	POR	X3, X0; \
	PMOVMSKB	X0, AX

// func lineEnd(b []byte, cr byte) (end int, ascii bool)
TEXT ·lineEnd(SB), NOSPLIT, $0-41
	MOVQ	b_base+0(FP), SI
	MOVQ	b_len+8(FP), BX
	MOVBLZX	cr+24(FP), R10
	MOVQ	SI, DI
	XORL	R9, R9 // the high bits of the bytes before the line end
	CMPQ	BX, $16
	JB	bytewise

	MOVQ	$0x0a0a0a0a0a0a0a0a, AX
	MOVQ	AX, X1
	PUNPCKLQDQ	X1, X1
	MOVQ	$0x0101010101010101, AX
	IMULQ	R10, AX
	MOVQ	AX, X2
	PUNPCKLQDQ	X2, X2
	LEAQ	-16(SI)(BX*1), R8 // the start of the last 16 bytes

blocks:
	CMPQ	SI, R8
	JA	last
	LINE_ENDS((SI))
	TESTL	AX, AX
	JNZ	found
	ORL	DX, R9
	ADDQ	$16, SI
	JMP	blocks

last:
	// Fewer than 16 bytes are left: look at the last 16, and drop what
	// was found among the bytes before SI, already seen.
	LINE_ENDS((R8))
	MOVQ	SI, CX
	SUBQ	R8, CX
	SHRL	CX, AX
	SHRL	CX, DX
	TESTL	AX, AX
	JZ	none

found:
	// AX marks the line ends among the 16 bytes from SI, DX their high
	// bits: keep those of the bytes before the first line end.
	BSFL	AX, CX
	MOVL	$1, AX
	SHLL	CX, AX
	DECL	AX
	ANDL	AX, DX
	ORL	DX, R9
	SUBQ	DI, SI
	ADDQ	CX, SI
	MOVQ	SI, end+32(FP)
	TESTL	R9, R9
	SETEQ	ascii+40(FP)
	RET

bytewise:
	XORQ	CX, CX

next:
	CMPQ	CX, BX
	JAE	none
	MOVBLZX	(SI)(CX*1), AX
	CMPB	AL, $0x0a
	JEQ	at
	CMPB	AL, R10B
	JEQ	at
	ORL	AX, R9
	INCQ	CX
	JMP	next

at:
	MOVQ	CX, end+32(FP)
	ANDL	$0x80, R9
	SETEQ	ascii+40(FP)
	RET

none:
	MOVQ	$-1, end+32(FP)
	MOVB	$0, ascii+40(FP)
	RET
