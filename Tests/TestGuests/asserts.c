// Guest code for the assertion, printf and exception tests.
#include "KVMHarnessGuest.h"
#include "TestGuests.h"

GUEST_CODE_BEGIN

void guest_asserts_pass(void) {
    uint64_t three = 3;

    GUEST_ASSERT(three == 3);
    GUEST_ASSERT_EQ(three, 3);
    GUEST_ASSERT_NE(three, 4);
    GUEST_ASSERT_LT(three, 4);
    GUEST_ASSERT_LE(three, 3);
    GUEST_ASSERT_GT(three, 2);
    GUEST_ASSERT_GE(three, 3);
    GUEST_DONE();
}

static uint64_t evaluations;

static uint64_t counted(uint64_t value) {
    evaluations++;
    return value;
}

const uint64_t guest_assert_eq_line = __LINE__ + 3;
void guest_assert_eq_fails(void) {
    uint64_t x = 41;
    GUEST_ASSERT_EQ(counted(x + 1), 43);
    GUEST_DONE();
}

uint64_t guest_assert_evaluations(void) { return evaluations; }

void guest_printf_between_syncs(void) {
    GUEST_SYNC(1);
    GUEST_PRINTF("hello from the guest: %d", 42);
    GUEST_SYNC(2);
    GUEST_PRINTF("%s-%#x-%5u|", "abc", 255, 7u);
    GUEST_DONE();
}

void guest_long_printf(void) {
    static char text[1201];

    for (int i = 0; i < 1200; i++)
        text[i] = (char)('a' + i % 26);
    text[1200] = '\0';
    GUEST_PRINTF("%s", text);
    GUEST_DONE();
}

void guest_fail(void) {
    GUEST_FAIL("gave up after %d tries", 3);
}

void __attribute__((noinline)) guest_undefined_opcode(void) {
    __asm__ volatile(".globl guest_ud2_instruction\n"
                     "guest_ud2_instruction: ud2");
    GUEST_DONE();
}

extern char guest_ud2_instruction[];
uint64_t guest_ud2_address(void) { return (uint64_t)(uintptr_t)guest_ud2_instruction; }

extern char guest_gp_resume[];
static uint64_t gp_vector = 0xff, gp_error = 0xff, gp_count;

void guest_gp_handler(struct ex_regs *regs) {
    gp_vector = regs->vector;
    gp_error = regs->error_code;
    gp_count++;
    regs->rip = (uint64_t)(uintptr_t)guest_gp_resume;
}

void __attribute__((noinline)) guest_expect_gp(void) {
    // A load from a non-canonical address raises #GP(0); the handler resumes at guest_gp_resume.
    __asm__ volatile("movabsq $0x8000000000000000, %%rax\n\t"
                     "movq (%%rax), %%rax\n\t"
                     ".globl guest_gp_resume\n"
                     "guest_gp_resume:"
                     :
                     :
                     : "rax", "memory");
    GUEST_SYNC_ARGS(1, gp_vector, gp_error, gp_count);
    GUEST_DONE();
}

void guest_page_fault(void) {
    (void)*(volatile uint64_t *)0x6660000;
    GUEST_DONE();
}

void guest_spin(void) {
    GUEST_SYNC(1);
    __asm__ volatile(".globl guest_spin_loop\n"
                     "guest_spin_loop: pause\n\t"
                     "jmp guest_spin_loop");
}

extern char guest_spin_loop[];
uint64_t guest_spin_loop_address(void) { return (uint64_t)(uintptr_t)guest_spin_loop; }

GUEST_CODE_END
