//go:build !purego

// lineEnd, the search for the first CR or LF, 16 bytes at a time with SSE2:
// one pass over a line, where bytes.IndexByte takes two (one for each
// byte), and one call a line, as cheap as the Go version's look at its
// first 16 bytes. SSE2 is part of every amd64 CPU, so there is no check of
// CPU features. TestLineEnd checks it against the plainest search.

#include "textflag.h"

// func lineEnd(b []byte) int
TEXT ·lineEnd(SB), NOSPLIT, $0-32
	MOVQ	b_base+0(FP), SI
	MOVQ	b_len+8(FP), BX
	MOVQ	SI, DI
	CMPQ	BX, $16
	JB	bytewise

	MOVQ	$0x0a0a0a0a0a0a0a0a, AX
	MOVQ	AX, X1
	PUNPCKLQDQ	X1, X1
	MOVQ	$0x0d0d0d0d0d0d0d0d, AX
	MOVQ	AX, X2
	PUNPCKLQDQ	X2, X2
	LEAQ	-16(SI)(BX*1), R8 // the start of the last 16 bytes

blocks:
	CMPQ	SI, R8
	JA	last
	MOVOU	(SI), X0
	MOVOU	X0, X3
	PCMPEQB	X1, X0
	PCMPEQB	X2, X3
	POR	X3, X0
	PMOVMSKB	X0, AX
	TESTL	AX, AX
	JNZ	found
	ADDQ	$16, SI
	JMP	blocks

last:
	// Fewer than 16 bytes are left: look at the last 16, and drop the
	// matches among the bytes before SI, already seen.
	MOVOU	(R8), X0
	MOVOU	X0, X3
	PCMPEQB	X1, X0
	PCMPEQB	X2, X3
	POR	X3, X0
	PMOVMSKB	X0, AX
	MOVQ	SI, CX
	SUBQ	R8, CX
	SHRL	CX, AX
	TESTL	AX, AX
	JZ	none

found:
	BSFL	AX, AX
	SUBQ	DI, SI
	ADDQ	SI, AX
	MOVQ	AX, ret+24(FP)
	RET

bytewise:
	XORQ	CX, CX

next:
	CMPQ	CX, BX
	JAE	none
	MOVBLZX	(SI)(CX*1), AX
	CMPB	AL, $0x0a
	JEQ	at
	CMPB	AL, $0x0d
	JEQ	at
	INCQ	CX
	JMP	next

at:
	MOVQ	CX, ret+24(FP)
	RET

none:
	MOVQ	$-1, ret+24(FP)
	RET
