#include "textflag.h"

// func bdoorIn(r *bdoorRegs)
TEXT ·bdoorIn(SB), NOSPLIT, $0-8
	MOVQ r+0(FP), R8
	MOVQ 0(R8), AX
	MOVQ 8(R8), BX
	MOVQ 16(R8), CX
	MOVQ 24(R8), DX
	MOVQ 32(R8), SI
	MOVQ 40(R8), DI
	BYTE $0xED // in eax, dx
	MOVQ AX, 0(R8)
	MOVQ BX, 8(R8)
	MOVQ CX, 16(R8)
	MOVQ DX, 24(R8)
	MOVQ SI, 32(R8)
	MOVQ DI, 40(R8)
	RET

// func cpuid(leaf uint32) (eax, ebx, ecx, edx uint32)
TEXT ·cpuid(SB), NOSPLIT, $0-24
	MOVL leaf+0(FP), AX
	XORL CX, CX
	CPUID
	MOVL AX, eax+8(FP)
	MOVL BX, ebx+12(FP)
	MOVL CX, ecx+16(FP)
	MOVL DX, edx+20(FP)
	RET
